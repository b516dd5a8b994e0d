"""Multi-image comparison: one question about 2-20 images in one chat turn (no Qt).

`comparison_request` builds the engine request the window and the command line both run;
`compare_main` is `caption-studio compare IMG IMG [...] --question "..."`: it streams the
answer to stdout and stores it in the images' folder library when they share a folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Sequence, TextIO

from .library.comparisons import MAX_IMAGES, MIN_IMAGES, check_count

log = logging.getLogger(__name__)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Ready questions: (key, short label, the question sent). The window translates the label.
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("differences", "Differences",
     "Compare these images. List the differences between them: subjects, objects, colours, "
     "composition, lighting and any text. Refer to the images as Image 1, Image 2, and so on."),
    ("before_after", "Before / after",
     "The first image is the 'before' and the last is the 'after'. Describe precisely what "
     "changed from one to the other, and what stayed the same."),
    ("style", "Consistent style?",
     "Do these images share a consistent visual style (medium, palette, lighting, rendering, "
     "composition)? Name each image that departs from the others and say how."),
    ("character", "Same character?",
     "Is the same character or person shown in every image? Compare face, hair, clothing, "
     "body and accessories, and name any image where the character looks different."),
)
DEFAULT_QUESTION = QUESTIONS[0][2]


# All images of a comparison share one context: their pixels together stay under this
# (about 4k visual tokens), so 20 images get about 450x450 each and 2 images their full cap.
TOTAL_PIXELS = 4 * 1024 * 1024


def per_image_pixels(count: int, cap: int | None) -> int:
    """The pixel cap of each of `count` images: the user's cap, shared out of TOTAL_PIXELS."""
    share = max(256 * 256, TOTAL_PIXELS // max(1, count))
    return min(share, cap) if cap else share


def question_text(key_or_text: str) -> str:
    """A ready question's text by key, else the text itself."""
    return next((text for key, _, text in QUESTIONS if key == key_or_text), key_or_text)


def comparison_request(paths: Sequence[Path], question: str, params: Any = None,
                       system_prompt: str | None = None, max_pixels: int | None = 1024 * 1024) -> Any:
    """The engine request asking `question` about `paths` (2-20 images, in this order).

    Raises:
        ValueError: If the number of images is not 2-20 or the question is empty.
    """
    from .engine import CaptionItem, CaptionRequest, GenerationParams

    check_count(len(paths))
    if not question.strip():
        raise ValueError("the question is empty")
    paths = [Path(p) for p in paths]
    item = CaptionItem(paths[0], extra_paths=tuple(paths[1:]))
    # The question is sent as written: {filename}-style variables make no sense for a group.
    return CaptionRequest(items=(item,), prompt=question.replace("{", "{{").replace("}", "}}"),
                          system_prompt=system_prompt, params=params or GenerationParams(),
                          max_pixels=max_pixels, batch_size=1)


def shared_folder(paths: Sequence[Path]) -> Path | None:
    """The folder every image is directly in, or None when they are in different folders."""
    parents = {Path(os.path.abspath(p)).parent for p in paths}
    return parents.pop() if len(parents) == 1 else None


def build_parser() -> argparse.ArgumentParser:
    from .cli import add_load_arguments, add_remote_arguments
    from .engine.models import DEFAULT_MODEL

    parser = argparse.ArgumentParser(
        prog="caption-studio compare",
        description=f"Ask one question about {MIN_IMAGES}-{MAX_IMAGES} images at once (they go to "
                    "the model together, in the order given); the answer streams to stdout.")
    parser.add_argument("images", type=Path, nargs="+", help="the images, in order")
    parser.add_argument("--question", "-q", default="differences",
                        help="the question, or a ready one: " + ", ".join(k for k, _, _ in QUESTIONS)
                             + " (default differences)")
    parser.add_argument("--model", default=None, help=f"model name, repo id or local folder (default {DEFAULT_MODEL})")
    parser.add_argument("--system", dest="system_prompt", help="a system prompt")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="resolution cap per image in pixels (default: 4 Mpx shared by the "
                             "images, at most 1 Mpx each)")
    parser.add_argument("--folder", type=Path, default=None,
                        help="store the comparison in this folder's library (default: the images' "
                             "folder when they share one)")
    parser.add_argument("--no-store", action="store_true", help="do not store the comparison")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where caption stores live (default: the user data folder)")
    add_load_arguments(parser)
    parser.add_argument("--endpoint", action="append", default=[], metavar="URL",
                        help="ask an OpenAI-compatible server (vLLM, SGLang, serve) instead of a local model")
    parser.add_argument("--api-key-env", default="CAPTION_STUDIO_API_KEY", metavar="NAME",
                        help="environment variable holding the endpoint's API key")
    add_remote_arguments(parser)
    return parser


def compare_main(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `compare`; 0 answered, 1 the comparison failed, 2 usage or model-loading errors."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    from .cli import load_options, remote_engine
    from .engine import CaptionEngine, GenerationParams, ImageCaptioned, ModelLoadError, TokensStreamed
    from .engine.models import DEFAULT_MODEL

    missing = [p for p in args.images if not p.is_file()]
    if missing:
        err.write(f"error: not a file: {missing[0]}\n")
        return EXIT_USAGE
    question = question_text(args.question)
    try:
        params = GenerationParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                  seed=args.seed)
        cap = args.max_pixels or per_image_pixels(len(args.images), 1024 * 1024)
        request = comparison_request(args.images, question, params, args.system_prompt, cap)
        folder = None if args.no_store else (args.folder or shared_folder(args.images))
        if args.endpoint:
            engine: Any = remote_engine(args, params, concurrency=1)
        else:
            engine = CaptionEngine(args.model or DEFAULT_MODEL, load_options(args), runner=args.runner)
        engine.load()
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except ModelLoadError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE

    def on_event(event: Any) -> None:
        if isinstance(event, TokensStreamed) and not event.reasoning:
            out.write(event.text)
            out.flush()

    cancel = threading.Event()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if main_thread:
        signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        results = list(engine.caption(request, cancel=cancel, on_event=on_event))
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    out.write("\n")
    result = results[0] if results else None
    if not isinstance(result, ImageCaptioned):
        reason = result.reason if result is not None else "cancelled"
        err.write(f"error: the comparison failed: {reason}\n")
        return EXIT_FAILED
    if folder is not None:
        return _store(folder, args, question, result, engine.loaded.describe(), err)
    if not args.no_store:
        err.write("note: the images are in different folders; the answer is not stored "
                  "(pass --folder to store it)\n")
    return EXIT_OK


def _store(folder: Path, args: argparse.Namespace, question: str, result: Any, model: str,
           err: TextIO) -> int:
    from .library import Library

    try:
        with Library.open(folder, data_dir=args.data_dir, sync=False) as library:
            saved = library.record_comparison(
                question, args.images, result.caption.strip(), model=model, truncated=result.truncated,
                extra={"max_new_tokens": args.max_new_tokens, "temperature": args.temperature,
                       "seed": args.seed})
    except (OSError, ValueError, RuntimeError) as exc:
        err.write(f"error: cannot store the comparison in {folder}: {exc}\n")
        return EXIT_FAILED
    err.write(f"stored as comparison {saved.id} in the library of {folder}\n")
    return EXIT_OK

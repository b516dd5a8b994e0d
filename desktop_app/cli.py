"""The headless command line: `caption` a folder with the same engine as the window (no Qt)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
EXIT_BUSY = 3  # another caption run holds the folder and --if-busy skip was given
log = logging.getLogger(__name__)


# --thinking: the chat template's enable_thinking (None: not passed, the template decides).
THINKING = {"on": True, "off": False, "default": None}


def _batch_size(text: str) -> int | None:
    if text == "auto":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("batch size must be 'auto' or a positive integer")
    return value


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """How to load and run a local model: the same flags for `caption` and `serve`."""
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--quantization", default="none", choices=["none", "8bit", "4bit"])
    parser.add_argument("--attention", default="auto")
    parser.add_argument("--runner", default="auto", choices=["auto", "continuous", "generate"])
    parser.add_argument("--offline", action="store_true", help="never use the network")


def load_options(args: argparse.Namespace) -> Any:
    """The `LoadOptions` the flags of `add_load_arguments` ask for."""
    from .engine import LoadOptions

    return LoadOptions(args.device, args.dtype, args.quantization, args.attention, offline=args.offline)


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    """How video files become frames (see engine.types.VideoOptions)."""
    from .engine.types import VideoOptions

    d = VideoOptions()
    parser.add_argument("--video-fps", type=float, default=d.fps,
                        help=f"frames sampled per second of video (default {d.fps:g})")
    parser.add_argument("--video-max-frames", type=int, default=d.max_frames,
                        help=f"at most this many frames per video (default {d.max_frames})")
    parser.add_argument("--video-start", type=float, default=None, metavar="SECONDS",
                        help="caption videos from this time on (default: the start)")
    parser.add_argument("--video-end", type=float, default=None, metavar="SECONDS",
                        help="caption videos up to this time (default: the end)")
    parser.add_argument("--video-max-pixels", type=int, default=None,
                        help="pixel cap of each video frame (default: --max-pixels)")


def video_options(args: argparse.Namespace) -> Any:
    """The `VideoOptions` the flags of `add_video_arguments` ask for (ValueError if out of range)."""
    from .engine.types import VideoOptions

    options = VideoOptions(args.video_fps, args.video_max_frames, args.video_start, args.video_end,
                           args.video_max_pixels)
    options.validate()
    return options


def add_remote_arguments(parser: argparse.ArgumentParser) -> None:
    """How requests to `--endpoint` servers behave: the same flags for `caption` and `compare`."""
    from .engine.remote import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S

    parser.add_argument("--request-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help="with --endpoint: the longest wait for a server's next bytes (its "
                             f"answer, or the next chunk of a streamed caption; default "
                             f"{DEFAULT_TIMEOUT_S:g}); connecting may take 5 s")
    parser.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                        help="with --endpoint: retries of a request after a 429, a 5xx, a timeout or a "
                             f"broken stream, after the server's Retry-After or 1, 2, 4... s "
                             f"(default {DEFAULT_RETRIES}); then its image goes to the other endpoints")
    parser.add_argument("--allow-http-key", action="store_true",
                        help="with --endpoint: send the API key to plain http:// servers on other "
                             "machines, where anyone on the network path can read it (default: "
                             "such endpoints are left out; https and this machine are always fine)")


def remote_engine(args: argparse.Namespace, params: Any, concurrency: int) -> Any:
    """The `RemoteEngine` for `--endpoint` (ValueError for settings the servers would refuse)."""
    from .engine.remote import RemoteEngine, check_params

    check_params(params)
    if args.retries < 0:
        raise ValueError("--retries must be >= 0")
    if not args.request_timeout > 0:
        raise ValueError("--request-timeout must be > 0 seconds")
    return RemoteEngine(args.endpoint, model=args.model, api_key_env=args.api_key_env,
                        concurrency=concurrency, timeout_s=args.request_timeout,
                        retries=args.retries, allow_http_key=args.allow_http_key)


def build_parser() -> argparse.ArgumentParser:
    from .cli_prompts import add_prompt_arguments
    from .engine.models import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="caption-studio caption",
                                     description="Caption every image and video of a folder with Qwen3-VL.")
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--recursive", "-r", action="store_true", help="include subfolders")
    parser.add_argument("--model", default=None,
                        help=f"model name, Hugging Face repo id or local folder (default {DEFAULT_MODEL}); "
                             "with --endpoint: the served model's name (default: the first served)")
    add_prompt_arguments(parser)
    parser.add_argument("--batch-size", type=_batch_size, default=None, metavar="auto|N")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--presence-penalty", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", type=int, default=1, help="captions per image")
    parser.add_argument("--thinking", choices=sorted(THINKING), default="default",
                        help="reasoning before the caption (Qwen3.5/3.6's enable_thinking): on, off, "
                             "or the model's default; the reasoning is stored, never in the caption file")
    parser.add_argument("--max-pixels", type=int, default=1024 * 1024,
                        help="image resolution cap in pixels (one visual token per 32x32)")
    add_video_arguments(parser)
    parser.add_argument("--ext", default=".txt", help="caption file extension (default .txt)")
    parser.add_argument("--overwrite", action="store_true", help="re-caption images that have a caption")
    parser.add_argument("--report", type=Path, help="write a JSON report of the run here")
    parser.add_argument("--if-busy", choices=["wait", "skip"], default="wait",
                        help="when another caption run is on this folder: wait for it to end, then "
                             "caption what it left (default), or skip this run (exit code 3)")
    add_load_arguments(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--endpoint", action="append", default=[], metavar="URL",
                        help="caption on this OpenAI-compatible server instead of a local model "
                             "(repeatable: several servers share the folder)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per endpoint (default 8)")
    parser.add_argument("--api-key-env", default="CAPTION_STUDIO_API_KEY", metavar="NAME",
                        help="environment variable holding the endpoints' API key (else the OS keyring)")
    add_remote_arguments(parser)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where caption stores live (default: the user data folder)")
    return parser


@dataclass
class RunSummary:
    """What a run did; `as_report()` is the JSON written by --report.

    `captioned` counts captions written (`cut` of them ended at the token limit);
    `no_caption` lists generations that gave no caption text (`problem` "empty" or
    "reasoning_unfinished"): nothing was written for them and they are left to caption again.
    """

    captioned: int = 0
    skipped: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    prompt: Any = None  # the ResolvedPrompt the run used
    cut: int = 0
    no_caption: list[dict[str, str]] = field(default_factory=list)
    max_new_tokens: int | None = None

    def count(self, problem: str) -> int:
        """How many files got no caption for this `problem`."""
        return sum(entry["problem"] == problem for entry in self.no_caption)

    def unfinished(self) -> int:
        """Files that ended without a caption: failures and generations without text."""
        return len(self.failures) + len(self.no_caption)

    def line(self) -> str:
        """The summary line: what was captioned, cut, left without a caption, skipped, failed."""
        parts = [f"captioned {self.captioned}" + (f" ({self.cut} cut at the token limit)" if self.cut else "")]
        if self.no_caption:
            kinds = [f"{n} {words}" for n, words in ((self.count("reasoning_unfinished"), "reasoning unfinished"),
                                                    (self.count("empty"), "empty")) if n]
            parts.append(f"no caption {len(self.no_caption)} ({', '.join(kinds)})")
        parts += [f"skipped {self.skipped}", f"failed {len(self.failures)}"]
        return ", ".join(parts) + f" in {self.seconds:.1f} s"

    def hints(self) -> list[str]:
        """What to change so that the next run does better (one line per kind of problem)."""
        limit = f"{self.max_new_tokens} tokens" if self.max_new_tokens else "the token limit"
        hints = []
        if self.count("reasoning_unfinished"):
            hints.append(f"the reasoning did not finish within {limit} for {self.count('reasoning_unfinished')} "
                         "file(s), so they have no caption: raise --max-new-tokens (a Thinking model reasons "
                         "before it captions) and run again; they are still to do")
        empty = [e for e in self.no_caption if e["problem"] == "empty"]
        if empty:
            hints.append(f"{len(empty)} file(s) got an empty answer and have no caption; they are still to "
                         "do: see the reasons above")
        if self.cut:
            hints.append(f"{self.cut} caption(s) were cut at {limit}: raise --max-new-tokens for whole "
                         "captions (--overwrite captions them again)")
        return hints

    def as_report(self) -> dict[str, Any]:
        report = {"captioned": self.captioned, "cut": self.cut,
                  "no_caption": len(self.no_caption), "empty": self.count("empty"),
                  "reasoning_unfinished": self.count("reasoning_unfinished"),
                  "skipped": self.skipped, "failed": len(self.failures),
                  "failures": self.failures, "no_caption_files": self.no_caption,
                  "seconds": round(self.seconds, 3)}
        if self.prompt is not None:
            report.update(prompt=self.prompt.prompt, system_prompt=self.prompt.system_prompt,
                          prompt_source=self.prompt.source)
        return report


class ProgressBar:
    """A one-line progress bar on stderr with images/s and ETA, redrawn at most 10 times a second."""

    def __init__(self, total: int, stream: TextIO, enabled: bool = True):
        self.total, self.stream = total, stream
        self.enabled = enabled and total > 0
        self.started = time.perf_counter()
        self.last_draw = 0.0

    def update(self, done: int, failed: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self.last_draw < 0.1):
            return
        self.last_draw = now
        finished = done + failed
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - finished) * elapsed / finished if finished else 0.0
        filled = int(30 * finished / self.total)
        line = (f"\r[{'#' * filled}{'.' * (30 - filled)}] {finished}/{self.total} "
                f"{rate:.2f} files/s ETA {int(eta) // 60}:{int(eta) % 60:02d}"
                + (f" failed {failed}" if failed else ""))
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def run_caption(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Caption a folder as `args` say; returns the exit code.

    Every result is committed to the folder's caption store and written to its sidecar the
    moment it exists, so a killed run loses only the captions still being generated and a
    rerun captions nothing twice.
    """
    from .cli_prompts import list_presets, resolve_prompt
    from .engine import CaptionEngine, CaptionRequest, GenerationParams, ModelLoadError
    from .engine.models import DEFAULT_MODEL
    from .library import MEDIA_EXTENSIONS, Library, RunPolicy
    from .library.atomic import atomic_write_text

    out, err = out or sys.stdout, err or sys.stderr
    started = time.perf_counter()
    if args.list_presets:
        list_presets(args, out)
        return EXIT_OK
    if args.folder is None or not args.folder.is_dir():
        err.write(f"error: {args.folder} is not a folder\n" if args.folder else "error: give a FOLDER to caption\n")
        return EXIT_USAGE
    try:
        params = GenerationParams(args.max_new_tokens, args.temperature, args.top_p, args.top_k,
                                  args.repetition_penalty, args.presence_penalty, args.seed, args.variants)
        params.validate()
        video = video_options(args)
        resolved = resolve_prompt(args)
        if args.endpoint and args.thinking != "default":
            raise ValueError("--thinking applies to a local model, not to --endpoint servers")
        if args.endpoint:
            engine: Any = remote_engine(args, params, args.concurrency)
        else:
            engine = CaptionEngine(args.model or DEFAULT_MODEL, load_options(args), runner=args.runner)
    except ValueError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    if args.variants > 1 and args.temperature == 0:
        err.write(f"note: at --temperature 0 (greedy) the {args.variants} variants are one caption; "
                  "set a temperature (e.g. 0.7) for different ones\n")
    policy = RunPolicy.OVERWRITE_ALL if args.overwrite else RunPolicy.SKIP_DONE_AND_EDITED
    lock = _take_run_lock(args, err)
    if isinstance(lock, int):
        return lock
    with lock, _store_errors(err) as store_failed, Library.open(
            args.folder, data_dir=args.data_dir, recursive=args.recursive,
            extensions=MEDIA_EXTENSIONS, sidecar_ext=args.ext) as library:
        restored = _write_unsaved(library, err)
        if restored:
            out.write(f"wrote {restored} caption files that an interrupted run had left unwritten\n")
        total = len(library.items())
        todo = library.pending(policy)
        summary = RunSummary(skipped=total - len(todo), prompt=resolved, max_new_tokens=params.max_new_tokens)
        out.write(f"{total} files in {args.folder}: {len(todo)} to caption, "
                  f"{summary.skipped} already captioned\n")
        out.write(f"prompt ({resolved.source}): {resolved.prompt}\n")
        if todo:
            request = CaptionRequest.for_paths(todo, prompt=resolved.prompt, system_prompt=resolved.system_prompt,
                                               params=params, max_pixels=args.max_pixels,
                                               batch_size=args.batch_size, video=video,
                                               thinking=THINKING[args.thinking])
            try:
                engine.load()
            except ModelLoadError as exc:
                err.write(f"error: {exc}\n")
                return EXIT_USAGE
            out.write(f"model: {engine.loaded.describe()}\n")
            try:
                _caption_all(engine, request, args, library, policy, summary, err)
            finally:
                engine.unload()  # the live engine's threads end with the run
    if store_failed:
        return EXIT_FAILURES
    summary.seconds = time.perf_counter() - started
    out.write(summary.line() + "\n")
    for failure in summary.failures:
        err.write(f"failed: {failure['path']}: {failure['reason']}\n")
    for entry in summary.no_caption:
        err.write(f"no caption: {entry['path']}: {entry['reason']}\n")
    for hint in summary.hints():
        err.write(f"hint: {hint}\n")
    if args.report:
        atomic_write_text(args.report, json.dumps(summary.as_report(), indent=2, ensure_ascii=False) + "\n")
    return EXIT_FAILURES if summary.unfinished() else EXIT_OK


def _take_run_lock(args: argparse.Namespace, err: TextIO) -> Any:
    """The folder's run lock, held (waiting for another run if --if-busy wait), or an exit code.

    Two runs on one folder would caption every file twice; the second one waits for the
    first (then captions what is left) or skips, and says which on stderr. The lock dies
    with its process, so a crashed run never blocks the next one.
    """
    from .library.run_lock import RunLock

    lock = RunLock.for_folder(args.folder, args.data_dir)
    wait = args.if_busy == "wait"
    waited = []

    def busy(holder: str) -> None:
        waited.append(holder)
        if wait:
            err.write(f"waiting: another caption run ({holder}) is captioning {args.folder}; this run "
                      "starts when it ends and captions what it left (Ctrl+C stops waiting; "
                      "--if-busy skip skips instead)\n")
        else:
            err.write(f"skipped: another caption run ({holder}) is captioning {args.folder}; "
                      "this run did nothing (--if-busy wait waits for it instead)\n")
    try:
        if not lock.acquire(wait=wait, on_wait=busy):
            return EXIT_BUSY
    except KeyboardInterrupt:
        err.write("cancelled while waiting for the other caption run; nothing was done\n")
        return EXIT_FAILURES
    except OSError as exc:
        err.write(f"warning: cannot take the run lock {lock.path} ({exc}); another run on this "
                  "folder would not be noticed\n")
    if waited and wait:
        err.write("the other caption run ended; starting\n")
    return lock


@contextlib.contextmanager
def _store_errors(err: TextIO) -> Iterator[list[str]]:
    """Turn a caption store that cannot be written (a full disk) into a message; yields a list
    that holds the message afterwards (empty when all went well)."""
    from .library.database import StoreWriteError

    failed: list[str] = []
    try:
        yield failed
    except StoreWriteError as exc:
        failed.append(str(exc))
        err.write(f"error: {exc}\n")


def _write_unsaved(library: Any, err: TextIO) -> int:
    """Write the sidecars of captions the store has but their files miss (a run killed between
    committing a caption and writing its file); returns how many were written."""
    written = 0
    for record in library.unsaved():
        try:
            library.write_sidecar(record.rel_path)
            written += 1
        except Exception as exc:  # noqa: BLE001 - one file must not stop the run
            err.write(f"warning: cannot write the caption file of {record.rel_path}: {exc}\n")
    return written


def _caption_all(engine: Any, request: Any, args: argparse.Namespace, library: Any, policy: Any,
                 summary: RunSummary, err: TextIO) -> None:
    """Run the engine, committing each result to the store and its sidecar as it arrives."""
    from .engine import ImageCaptioned

    cancel = threading.Event()
    bar = ProgressBar(len(request.items), err, enabled=not args.quiet)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT)
    if main_thread:
        signal.signal(signal.SIGINT, lambda *_: cancel.set())  # Ctrl+C: stop within one step
    try:
        for result in engine.caption(request, cancel=cancel, root=library.root):
            if isinstance(result, ImageCaptioned):
                _save(library, result, policy, args.variants, summary)
            else:
                library.record_failure(result.path, result.reason)
                summary.failures.append({"path": str(result.path), "reason": result.reason})
            bar.update(summary.captioned, summary.unfinished())
        bar.update(summary.captioned, summary.unfinished(), force=True)
    finally:
        bar.close()
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if cancel.is_set():
        err.write("cancelled: captions finished so far are saved\n")
    if getattr(engine, "unreached", 0):
        err.write(f"warning: {engine.unreached} images left pending: no endpoint reachable\n")


def _save(library: Any, result: Any, policy: Any, variants: int, summary: RunSummary) -> None:
    """Commit one caption, then write its sidecar (the joined variants when there are several).

    A result without caption text (unfinished reasoning, an empty answer) is no caption: the
    store notes why (a caption it held stays) and no sidecar is written.
    """
    if not result.has_text:
        reason = result.problem_message("--max-new-tokens")
        library.record_failure(result.path, reason, result.problem)
        summary.no_caption.append({"path": str(result.path), "problem": result.problem, "reason": reason})
        return
    caption = result.caption.strip()
    text = "\n\n".join(v.strip() for v in result.variants) if variants > 1 else caption
    metadata = dict(result.metadata, truncated=result.truncated, reasoning=result.reasoning)
    if not library.record_result(result.path, caption, [v.strip() for v in result.variants],
                                 metadata=metadata, truncated=result.truncated, policy=policy):
        summary.skipped += 1  # edited in the meantime: the user's edit wins
        return
    try:
        library.write_sidecar(result.path, text)
        summary.captioned += 1
        summary.cut += result.problem == "cut"
    except Exception as exc:  # noqa: BLE001 - the caption is safe in the store; say why the file is not
        summary.failures.append({"path": str(result.path), "reason": f"cannot write the caption file: {exc}"})


def main(argv: Sequence[str] | None = None) -> int:
    """`caption-studio caption ...` and `caption-studio export ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write("usage: caption-studio [caption FOLDER ... | export FOLDER ... | compare IMG IMG ... | serve --model M ...]\n"
                         "       caption-studio (no arguments) opens the window\n")
        return EXIT_OK if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    if command == "caption":
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own bar is the one that counts
        try:
            args = build_parser().parse_args(rest)
        except SystemExit as exc:
            return EXIT_OK if exc.code == 0 else EXIT_USAGE
        return run_caption(args)
    if command == "export":
        from .library.export import export_main

        return export_main(rest)
    if command == "compare":
        from .compare import compare_main  # one question about several images
        return compare_main(rest)
    if command == "serve":
        from .server.app import serve_main  # says itself when fastapi/uvicorn are missing

        return serve_main(rest)
    sys.stderr.write(f"error: unknown command {command!r} (use caption, export, compare or serve)\n")
    return EXIT_USAGE

"""The prompt catalogue: description types x lengths x extra options, composed into one prompt.

Everything here is plain data plus one deterministic `compose()`; the CLI, the window's
composer and user presets all build their prompts through it. Each type, length and option
carries its label and its prompt text in English, Russian and Chinese: the caption language
is the language of the prompt, so the model answers in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "zh": "中文"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TYPE = "detailed"
DEFAULT_LENGTH = "any"
#: Word counts accepted as a length ("50" means "about 50 words").
MIN_WORDS, MAX_WORDS = 1, 2000


class CatalogueError(ValueError):
    """An unknown type, length, option or language; the message lists the valid ones."""


@dataclass(frozen=True)
class CaptionType:
    """One description type: what the model is asked to write.

    `length_unit` is "words", "tags" or "" (the type ignores a length); `verbatim` types
    copy what is in the image (OCR, tables), so no "answer in language X" is added.
    """

    key: str
    label: Mapping[str, str]
    text: Mapping[str, str]
    length_unit: str = "words"
    media: str = "image"  # "image", "video" or "images" (several at once)
    verbatim: bool = False

    @property
    def takes_length(self) -> bool:
        return bool(self.length_unit)


@dataclass(frozen=True)
class Length:
    """A length choice; `text[unit][language]` is the sentence it adds."""

    key: str
    label: Mapping[str, str]
    text: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """An extra instruction; `{value}` in its text is filled from the user's value."""

    key: str
    label: Mapping[str, str]
    text: Mapping[str, str]
    applies_to: frozenset[str]
    takes_value: bool = False
    value_label: Mapping[str, str] = field(default_factory=dict)


def _t(en: str, ru: str, zh: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "zh": zh}


# -- types ----------------------------------------------------------------------------------
_TYPES: tuple[CaptionType, ...] = (
    CaptionType("detailed", _t("Detailed description", "Подробное описание", "详细描述"), _t(
        "Describe this image in detail: the subject, the setting, colours, lighting and "
        "composition. Write flowing prose, no lists.",
        "Подробно опиши это изображение: объект, обстановку, цвета, освещение и композицию. "
        "Пиши связным текстом, без списков.",
        "详细描述这张图片：主体、场景、色彩、光线和构图。用连贯的段落书写，不要列表。")),
    CaptionType("casual", _t("Casual description", "Непринуждённое описание", "随意描述"), _t(
        "Describe this image in a casual, friendly tone, as if telling a friend what is in it.",
        "Опиши это изображение непринуждённо и дружелюбно, как будто рассказываешь другу, "
        "что на нём.",
        "用轻松友好的语气描述这张图片，就像在告诉朋友图里有什么。")),
    CaptionType("straightforward", _t("Straightforward caption", "Простая подпись", "直白说明"), _t(
        "Write a straightforward caption for this image: state what is shown plainly, starting "
        "with the main subject. No opinions, no filler.",
        "Напиши простую подпись к этому изображению: прямо скажи, что на нём, начиная с "
        "главного объекта. Без оценок и лишних слов.",
        "为这张图片写一段直白的说明：从主体开始，平实地说明画面内容。不加评价，不说废话。")),
    CaptionType("product", _t("Product listing", "Описание товара", "商品描述"), _t(
        "Write a product description for the item in this image, as for an online shop: what it "
        "is, its material, colour, design and notable features.",
        "Напиши описание товара на этом изображении, как для интернет-магазина: что это, "
        "материал, цвет, дизайн и заметные особенности.",
        "为这张图片中的商品写一段网店商品描述：是什么、材质、颜色、设计和显著特点。")),
    CaptionType("seo", _t("SEO description", "SEO-описание", "SEO 描述"), _t(
        "Write an SEO-friendly description of this image for a web page: natural sentences that "
        "use the keywords people would search for.",
        "Напиши SEO-описание этого изображения для веб-страницы: естественные предложения с "
        "ключевыми словами, которые ищут люди.",
        "为网页写一段有利于 SEO 的图片描述：使用人们会搜索的关键词，句子自然。")),
    CaptionType("diffusion", _t("Diffusion prompt", "Промпт для диффузии", "扩散模型提示词"), _t(
        "Write a prompt that a text-to-image model (Stable Diffusion, Flux) could use to "
        "recreate this image: subject, style, medium, lighting, camera and composition, as one "
        "paragraph of comma-separated phrases. Output only the prompt.",
        "Напиши промпт, по которому модель text-to-image (Stable Diffusion, Flux) могла бы "
        "воссоздать это изображение: объект, стиль, техника, освещение, камера и композиция, "
        "одним абзацем фраз через запятую. Выведи только промпт.",
        "写一段文生图模型（Stable Diffusion、Flux）可用于重现这张图片的提示词：主体、风格、"
        "媒介、光线、镜头和构图，用逗号分隔的短语写成一段。只输出提示词。")),
    CaptionType("tags", _t("Booru-style tags", "Теги (booru)", "Booru 风格标签"), _t(
        "List the visible content of this image as comma-separated booru-style tags, most "
        "important first. Output only the tags.",
        "Перечисли содержимое этого изображения тегами в стиле booru через запятую, самые "
        "важные первыми. Выведи только теги.",
        "用逗号分隔的 booru 风格标签列出这张图片的可见内容，最重要的在前。只输出标签。"),
        length_unit="tags"),
    CaptionType("art_critique", _t("Art critique", "Художественный разбор", "艺术评论"), _t(
        "Write an art critique of this image: its composition, use of colour and light, "
        "technique, style, mood and what works or does not.",
        "Напиши художественный разбор этого изображения: композиция, работа с цветом и "
        "светом, техника, стиль, настроение, что удалось и что нет.",
        "为这张图片写一篇艺术评论：构图、色彩与光线的运用、技法、风格、氛围，以及成功与不足之处。")),
    CaptionType("alt_text", _t("Alt text", "Альтернативный текст", "替代文本"), _t(
        "Write concise alt text for this image for a screen reader (at most 125 characters). "
        "Output only the alt text.",
        "Напиши краткий альтернативный текст к этому изображению для программы чтения с "
        "экрана (не более 125 символов). Выведи только этот текст.",
        "为屏幕阅读器写一段简洁的图片替代文本（不超过 125 个字符）。只输出替代文本。"),
        length_unit=""),
    CaptionType("social", _t("Social media post", "Пост для соцсетей", "社交媒体帖子"), _t(
        "Write an engaging social media post about this image, with a few fitting hashtags at "
        "the end.",
        "Напиши увлекательный пост для соцсетей об этом изображении с несколькими подходящими "
        "хештегами в конце.",
        "为这张图片写一条吸引人的社交媒体帖子，并在末尾加上几个合适的话题标签。")),
    CaptionType("ocr", _t("Read text (OCR)", "Распознать текст (OCR)", "文字识别 (OCR)"), _t(
        "Read all the text in this image exactly as written, keeping line breaks. Output only "
        "the text.",
        "Прочитай весь текст на этом изображении точно как написано, сохраняя переносы строк. "
        "Выведи только текст.",
        "逐字读出这张图片中的所有文字，保留换行。只输出文字。"),
        length_unit="", verbatim=True),
    CaptionType("ocr_layout", _t("OCR with layout", "OCR с разметкой", "带版式的 OCR"), _t(
        "Read all the text in this image and reproduce its layout in Markdown: headings, "
        "paragraphs, lists, columns in reading order. Output only the Markdown.",
        "Прочитай весь текст на этом изображении и воспроизведи его разметку в Markdown: "
        "заголовки, абзацы, списки, колонки в порядке чтения. Выведи только Markdown.",
        "读出这张图片中的所有文字，并用 Markdown 重现其版式：标题、段落、列表，按阅读顺序排列各栏。"
        "只输出 Markdown。"),
        length_unit="", verbatim=True),
    CaptionType("table_html", _t("Table to HTML", "Таблица в HTML", "表格转 HTML"), _t(
        "Convert the table in this image to HTML: one <table> with <tr>, <th> and <td>, merged "
        "cells as rowspan/colspan, the cell text exactly as written. Output only the HTML.",
        "Преобразуй таблицу на этом изображении в HTML: один <table> с <tr>, <th> и <td>, "
        "объединённые ячейки через rowspan/colspan, текст ячеек точно как написан. Выведи "
        "только HTML.",
        "把这张图片中的表格转换为 HTML：一个 <table>，使用 <tr>、<th> 和 <td>，合并单元格用 "
        "rowspan/colspan，单元格文字与原文完全一致。只输出 HTML。"),
        length_unit="", verbatim=True),
    CaptionType("document_json", _t("Document to JSON", "Документ в JSON", "文档转 JSON"), _t(
        "Extract the information in this document as one JSON object: a key for each field "
        "(dates, names, amounts, addresses, items), values exactly as written. Output only the "
        "JSON.",
        "Извлеки сведения из этого документа в один объект JSON: ключ для каждого поля (даты, "
        "имена, суммы, адреса, позиции), значения точно как написаны. Выведи только JSON.",
        "把这份文档中的信息提取为一个 JSON 对象：每个字段一个键（日期、姓名、金额、地址、条目），"
        "值与原文完全一致。只输出 JSON。"),
        length_unit="", verbatim=True),
    CaptionType("chart", _t("Chart reading", "Чтение графика", "图表解读"), _t(
        "Read the chart in this image: its type, title, axes and units, the series, the key "
        "values and the trend it shows.",
        "Прочитай график на этом изображении: его тип, заголовок, оси и единицы, ряды данных, "
        "ключевые значения и тенденцию.",
        "解读这张图片中的图表：类型、标题、坐标轴和单位、数据系列、关键数值以及所呈现的趋势。")),
    CaptionType("comparison", _t("Comparison (several images)", "Сравнение (несколько изображений)",
                                 "对比（多张图片）"), _t(
        "Compare these images: what they have in common, how they differ, and any change from "
        "one to the next (before/after, consistency of subject and style). Refer to them as "
        "image 1, image 2 and so on.",
        "Сравни эти изображения: что у них общего, чем они различаются и что меняется от "
        "одного к другому (до/после, единство объекта и стиля). Называй их «изображение 1», "
        "«изображение 2» и так далее.",
        "比较这些图片：它们的共同点、不同点，以及从一张到下一张的变化（前后对比、主体与风格是否一致）。"
        "用“图片 1”“图片 2”等称呼它们。"),
        media="images"),
    CaptionType("video", _t("Video description", "Описание видео", "视频描述"), _t(
        "Describe this video in detail: the scene, the subjects, what happens over time, camera "
        "movement and style.",
        "Подробно опиши это видео: сцену, участников, что происходит со временем, движение "
        "камеры и стиль.",
        "详细描述这段视频：场景、主体、随时间发生的事情、镜头运动和风格。"),
        media="video"),
    CaptionType("video_timeline", _t("Video timeline", "Хронология видео", "视频时间线"), _t(
        "List the events of this video in order, one per line, each starting with its time "
        "stamp as [mm:ss]: what happens, who acts, and cuts or camera changes.",
        "Перечисли события этого видео по порядку, по одному в строке, каждое с отметкой "
        "времени в виде [мм:сс]: что происходит, кто действует, смены планов и движения камеры.",
        "按顺序列出这段视频中的事件，每行一个，每行以 [mm:ss] 格式的时间戳开头：发生了什么、"
        "谁在行动，以及剪辑或镜头变化。"),
        length_unit="", media="video"),
    CaptionType("grounding", _t("Find objects (boxes)", "Найти объекты (рамки)", "目标定位（边框）"), _t(
        "Locate every distinct object in this image. Output only a JSON array with one entry "
        'per object: [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}], where (x1, y1) is the '
        "top-left and (x2, y2) the bottom-right corner, in coordinates from 0 to 1000 relative "
        "to the image width and height.",
        "Найди на этом изображении каждый отдельный объект. Выведи только массив JSON, по "
        'одной записи на объект: [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}], где (x1, y1) '
        "— левый верхний, а (x2, y2) — правый нижний угол, в координатах от 0 до 1000 "
        "относительно ширины и высоты изображения. Подписи (label) пиши по-русски.",
        "定位这张图片中的每个不同物体。只输出一个 JSON 数组，每个物体一项："
        '[{"bbox_2d": [x1, y1, x2, y2], "label": "..."}]，其中 (x1, y1) 为左上角，(x2, y2) '
        "为右下角，坐标为相对于图片宽高的 0 到 1000。label 用中文书写。"),
        length_unit="", verbatim=True),
)
TYPES: dict[str, CaptionType] = {t.key: t for t in _TYPES}

# -- lengths --------------------------------------------------------------------------------
_LENGTHS: tuple[Length, ...] = (
    Length("any", _t("Any length", "Любая длина", "任意长度")),
    Length("very_short", _t("Very short", "Очень коротко", "非常简短"), {
        "words": _t("Keep it very short: one sentence.", "Очень коротко: одно предложение.",
                    "非常简短：一句话。"),
        "tags": _t("Give at most 10 tags.", "Не больше 10 тегов.", "最多 10 个标签。")}),
    Length("short", _t("Short", "Коротко", "简短"), {
        "words": _t("Keep it short: two or three sentences.", "Коротко: два-три предложения.",
                    "简短：两三句话。"),
        "tags": _t("Give about 15 tags.", "Около 15 тегов.", "大约 15 个标签。")}),
    Length("medium", _t("Medium-length", "Средняя длина", "中等长度"), {
        "words": _t("Make it medium-length: one paragraph.", "Средней длины: один абзац.",
                    "中等长度：一段话。"),
        "tags": _t("Give about 25 tags.", "Около 25 тегов.", "大约 25 个标签。")}),
    Length("long", _t("Long", "Длинно", "较长"), {
        "words": _t("Make it long: several detailed paragraphs.", "Длинно: несколько подробных абзацев.",
                    "较长：几段详细的文字。"),
        "tags": _t("Give about 40 tags.", "Около 40 тегов.", "大约 40 个标签。")}),
    Length("very_long", _t("Very long", "Очень длинно", "非常长"), {
        "words": _t("Make it very long and exhaustive, covering every detail.",
                    "Очень длинно и исчерпывающе, с каждой деталью.", "非常长且详尽，涵盖每一个细节。"),
        "tags": _t("Give 60 or more tags.", "60 тегов или больше.", "60 个或更多标签。")}),
)
LENGTHS: dict[str, Length] = {length.key: length for length in _LENGTHS}
_WORD_COUNT = {
    "words": _t("Use about {n} words.", "Примерно {n} слов.", "大约 {n} 个字。"),
    "tags": _t("Give about {n} tags.", "Около {n} тегов.", "大约 {n} 个标签。"),
}
WORDS_LABEL = _t("{n} words", "{n} слов", "{n} 个字")

# -- options --------------------------------------------------------------------------------
_VISUAL = frozenset({"detailed", "casual", "straightforward", "product", "diffusion", "tags",
                     "art_critique", "video"})
_STILL = _VISUAL - {"video"}
_PROSE = _VISUAL | {"seo", "social", "alt_text", "comparison", "video_timeline", "chart"}
_OPTIONS: tuple[Option, ...] = (
    Option("name", _t("Person's name", "Имя человека", "人物名字"), _t(
        "If there is a person or character, refer to them as {value}.",
        "Если есть человек или персонаж, называй его {value}.",
        "如果有人物或角色，称其为{value}。"), _PROSE - {"chart"}, takes_value=True,
        value_label=_t("Name", "Имя", "名字")),
    Option("objects", _t("Only these objects", "Только эти объекты", "只找这些物体"), _t(
        "Find only these objects: {value}.", "Ищи только эти объекты: {value}.", "只查找这些物体：{value}。"),
        frozenset({"grounding"}), takes_value=True, value_label=_t("Objects", "Объекты", "物体")),
    Option("lighting", _t("Lighting", "Освещение", "光线"), _t(
        "Include information about the lighting.", "Опиши освещение.", "描述光线情况。"), _VISUAL),
    Option("camera_angle", _t("Camera angle", "Ракурс", "拍摄角度"), _t(
        "Include information about the camera angle.", "Укажи ракурс съёмки.", "说明拍摄角度。"),
        _VISUAL | {"video_timeline"}),
    Option("shot_type", _t("Shot type", "Тип плана", "景别"), _t(
        "Name the shot type (close-up, medium shot, wide shot, …).",
        "Назови тип плана (крупный, средний, общий…).", "说明景别（特写、中景、远景等）。"),
        _VISUAL | {"video_timeline"}),
    Option("depth_of_field", _t("Depth of field", "Глубина резкости", "景深"), _t(
        "Describe the depth of field: whether the background is sharp or blurred.",
        "Опиши глубину резкости: резкий фон или размытый.", "描述景深：背景是清晰还是虚化。"), _VISUAL),
    Option("composition", _t("Composition", "Композиция", "构图"), _t(
        "Describe the composition style (rule of thirds, symmetry, leading lines, …).",
        "Опиши стиль композиции (правило третей, симметрия, ведущие линии…).",
        "描述构图风格（三分法、对称、引导线等）。"), _VISUAL),
    Option("aesthetic", _t("Aesthetic quality", "Эстетика", "美学质量"), _t(
        "Rate the aesthetic quality from low to very high.",
        "Оцени эстетическое качество: от низкого до очень высокого.", "评价美学质量，从低到非常高。"),
        _VISUAL),
    Option("watermark", _t("Watermark", "Водяной знак", "水印"), _t(
        "Say whether there is a watermark.", "Скажи, есть ли водяной знак.", "说明是否有水印。"), _VISUAL),
    Option("jpeg_artifacts", _t("JPEG artefacts", "Артефакты JPEG", "JPEG 压缩痕迹"), _t(
        "Say whether there are JPEG artefacts.", "Скажи, есть ли артефакты сжатия JPEG.",
        "说明是否有 JPEG 压缩痕迹。"), _STILL),
    Option("no_text", _t("No text", "Без текста", "不提文字"), _t(
        "Do not mention any text in the image.", "Не упоминай текст на изображении.",
        "不要提及图片中的任何文字。"), _PROSE - {"chart"}),
    Option("no_resolution", _t("No resolution", "Без разрешения", "不提分辨率"), _t(
        "Do not mention the image resolution.", "Не упоминай разрешение изображения.",
        "不要提及图片分辨率。"), _PROSE),
    Option("key_elements", _t("Key elements only", "Только главное", "只写关键元素"), _t(
        "Mention only the most important elements.", "Упоминай только самое важное.",
        "只提及最重要的元素。"), _PROSE | {"grounding"}),
    Option("no_ambiguity", _t("No ambiguity", "Без двусмысленности", "避免含糊"), _t(
        "Do not use ambiguous language; say things plainly.",
        "Не используй двусмысленных выражений; говори прямо.", "不要使用含糊的措辞，直截了当。"), _PROSE),
    Option("sfw", _t("SFW only", "Только SFW", "仅限安全内容"), _t(
        "Keep it safe for work: no sexual or graphic content.",
        "Без откровенного и шокирующего содержания (SFW).", "保持内容适宜工作场合：不含色情或血腥内容。"),
        _PROSE),
)
OPTIONS: dict[str, Option] = {o.key: o for o in _OPTIONS}
_ANSWER_IN = {"ru": "Отвечай на русском языке.", "zh": "请用中文回答。"}


# -- lookups ---------------------------------------------------------------------------------
def _unknown(kind: str, name: object, valid: Iterable[str]) -> CatalogueError:
    return CatalogueError(f"unknown {kind} {name!r}: use one of {', '.join(valid)}")


def caption_type(key: str) -> CaptionType:
    """The type `key`; CatalogueError listing the types otherwise."""
    try:
        return TYPES[key]
    except KeyError:
        raise _unknown("prompt type", key, TYPES) from None


def normalize_length(length: str | int | None) -> str:
    """'any', a named length, or a word count as digits ('50'); CatalogueError otherwise."""
    text = str(length if length is not None else DEFAULT_LENGTH).strip().lower().replace("-", "_")
    if text.endswith("words"):
        text = text[:-5].strip(" _")
    if text.isdigit():
        if not MIN_WORDS <= int(text) <= MAX_WORDS:
            raise CatalogueError(f"a word count must be {MIN_WORDS}-{MAX_WORDS}, not {text}")
        return str(int(text))
    if text == "medium_length":
        text = "medium"
    if text not in LENGTHS:
        raise _unknown("length", length, [*LENGTHS, "or a word count such as 50"])
    return text


def normalize_language(language: str | None) -> str:
    """'en', 'ru' or 'zh'; CatalogueError otherwise."""
    code = (language or DEFAULT_LANGUAGE).strip().lower()
    if code not in LANGUAGES:
        raise _unknown("caption language", language, LANGUAGES)
    return code


def parse_options(options: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Options as {key: value} in catalogue order, from "key" / "key=value" strings or a mapping.

    Unknown keys raise CatalogueError; a value option without a value raises too; a flag
    option's value is ignored. The order of the input never changes the result.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(options, Mapping):
        pairs = [(str(k), str(v or "")) for k, v in options.items()]
    else:
        for item in options or ():
            key, _, value = str(item).partition("=")
            pairs.append((key, value))
    given: dict[str, str] = {}
    for key, value in pairs:
        key = key.strip().lower().replace("-", "_")
        if key not in OPTIONS:
            raise _unknown("option", key, OPTIONS)
        option = OPTIONS[key]
        value = " ".join(value.split())  # one line: a value never breaks the prompt's shape
        if option.takes_value and not value:
            raise CatalogueError(f"option {key!r} needs a value: {key}=…")
        given[key] = value if option.takes_value else ""
    return {key: given[key] for key in OPTIONS if key in given}


def format_options(options: Mapping[str, str]) -> tuple[str, ...]:
    """The inverse of `parse_options`: ("lighting", "name=Anna", …) in catalogue order."""
    return tuple(f"{k}={v}" if OPTIONS[k].takes_value else k for k, v in parse_options(options).items())


def applicable_options(type_key: str) -> list[str]:
    """The options that change the prompt of `type_key`, in catalogue order."""
    caption_type(type_key)
    return [key for key, option in OPTIONS.items() if type_key in option.applies_to]


def length_label(length: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The label of a length ('Short', '50 words')."""
    key = normalize_length(length)
    if key.isdigit():
        return WORDS_LABEL[language].format(n=key)
    return LENGTHS[key].label[language]


# -- composition -----------------------------------------------------------------------------
def compose(type_key: str, length: str | int | None = DEFAULT_LENGTH,
            options: Iterable[str] | Mapping[str, str] | None = None,
            language: str | None = DEFAULT_LANGUAGE) -> str:
    """The prompt for a type, a length and options, in `language` (deterministic).

    A type without a length (OCR, tables, JSON, grounding) ignores it; options that do not
    apply to the type are ignored. Unknown names raise CatalogueError listing valid ones.
    """
    kind = caption_type(type_key)
    length = normalize_length(length)
    chosen = parse_options(options)
    lang = normalize_language(language)
    parts = [kind.text[lang]]
    if kind.takes_length and length != DEFAULT_LENGTH:
        if length.isdigit():
            parts.append(_WORD_COUNT[kind.length_unit][lang].format(n=length))
        else:
            parts.append(LENGTHS[length].text[kind.length_unit][lang])
    for key, value in chosen.items():
        option = OPTIONS[key]
        if type_key in option.applies_to:
            parts.append(option.text[lang].replace("{value}", value))
    if lang in _ANSWER_IN and not kind.verbatim:
        parts.append(_ANSWER_IN[lang])
    return ("" if lang == "zh" else " ").join(parts)


@dataclass(frozen=True)
class PromptChoice:
    """A type, a length, options and a caption language: what the composer shows."""

    type: str = DEFAULT_TYPE
    length: str = DEFAULT_LENGTH
    options: tuple[str, ...] = ()  # "key" or "key=value", catalogue order
    language: str = DEFAULT_LANGUAGE

    @classmethod
    def make(cls, type: str = DEFAULT_TYPE, length: str | int | None = DEFAULT_LENGTH,  # noqa: A002
             options: Iterable[str] | Mapping[str, str] | None = None,
             language: str | None = DEFAULT_LANGUAGE) -> PromptChoice:
        """A validated, normalised choice; CatalogueError names what is wrong."""
        caption_type(type)
        return cls(type, normalize_length(length), format_options(parse_options(options)),
                   normalize_language(language))

    def prompt(self) -> str:
        """The composed prompt."""
        return compose(self.type, self.length, self.options, self.language)


def describe_catalogue(language: str = DEFAULT_LANGUAGE) -> str:
    """A plain-text listing of types, lengths, options and languages (for --list-presets)."""
    lang = normalize_language(language)
    lines = ["Types (--preset):"]
    for key, kind in TYPES.items():
        notes = [] if kind.takes_length else ["ignores length"]
        if kind.media != "image":
            notes.append(f"for {kind.media}")
        lines.append(f"  {key:<16} {kind.label[lang]}" + (f"  ({', '.join(notes)})" if notes else ""))
    lines.append("Lengths (--length):")
    lines += [f"  {key:<16} {length.label[lang]}" for key, length in LENGTHS.items()]
    lines.append(f"  {'N':<16} {WORDS_LABEL[lang].format(n='N')} ({MIN_WORDS}-{MAX_WORDS})")
    lines.append("Options (--option, repeatable):")
    for key, option in OPTIONS.items():
        name = f"{key}=VALUE" if option.takes_value else key
        lines.append(f"  {name:<16} {option.label[lang]}  [{', '.join(k for k in TYPES if k in option.applies_to)}]")
    lines.append("Caption languages (--caption-language):")
    lines += [f"  {code:<16} {name}" for code, name in LANGUAGES.items()]
    return "\n".join(lines)


#: Preset names of earlier versions that map onto a type and a length.
ALIASES: dict[str, PromptChoice] = {"short": PromptChoice("straightforward", "very_short")}


def legacy_presets() -> dict[str, str]:
    """{name: English prompt} for every type and alias (what `prompts.PRESETS` holds)."""
    presets = {key: compose(key) for key in TYPES}
    presets.update({name: choice.prompt() for name, choice in ALIASES.items()})
    return presets

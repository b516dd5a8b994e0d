<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>AffixDialog</name>
    <message>
        <source>Add text to captions</source>
        <translation>Добавить текст к подписям</translation>
    </message>
    <message>
        <source>e.g. a trigger word</source>
        <translation>например, триггерное слово</translation>
    </message>
    <message>
        <source>Prepend</source>
        <translation>В начало</translation>
    </message>
    <message>
        <source>Append</source>
        <translation>В конец</translation>
    </message>
    <message>
        <source>Separator</source>
        <translation>Разделитель</translation>
    </message>
    <message>
        <source> (%1 without a caption are left alone)</source>
        <translation> (без подписи — %1, их не трогаем)</translation>
    </message>
    <message>
        <source>%1 of %2 selected captions will change%3.</source>
        <translation>Изменится подписей: %1 из %2 выбранных%3.</translation>
    </message>
    <message numerus="yes">
        <source>Add text to %n caption(s)</source>
        <translation>
            <numerusform>Добавлен текст к %n подписи</numerusform>
            <numerusform>Добавлен текст к %n подписям</numerusform>
            <numerusform>Добавлен текст к %n подписям</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BoxOverlay</name>
    <message numerus="yes">
        <source>Boxes (%n)</source>
        <translation>
            <numerusform>Рамки (%n)</numerusform>
            <numerusform>Рамки (%n)</numerusform>
            <numerusform>Рамки (%n)</numerusform>
        </translation>
    </message>
    <message>
        <source>Show or hide the boxes found in the caption</source>
        <translation>Показать или скрыть рамки, найденные в подписи</translation>
    </message>
    <message>
        <source>The box list was cut short: only complete boxes are drawn</source>
        <translation>Список рамок оборван: нарисованы только полные рамки</translation>
    </message>
</context>
<context>
    <name>CaptionPanel</name>
    <message>
        <source>cut at token limit</source>
        <translation>обрезано по лимиту токенов</translation>
    </message>
    <message>
        <source>The caption reached Max new tokens before it ended</source>
        <translation>Подпись упёрлась в «Макс. новых токенов», не закончившись</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>Принять</translation>
    </message>
    <message>
        <source>Mark the selected captions as checked and good</source>
        <translation>Отметить выбранные подписи как проверенные и хорошие</translation>
    </message>
    <message>
        <source>Flag</source>
        <translation>Флаг</translation>
    </message>
    <message>
        <source>Mark the selected captions as needing another look</source>
        <translation>Отметить выбранные подписи как требующие повторной проверки</translation>
    </message>
    <message>
        <source>%1 (%2); click again to clear</source>
        <translation>%1 (%2); повторный щелчок снимает отметку</translation>
    </message>
    <message>
        <source>No caption yet. Press Ctrl+Enter to caption this file, or type one.</source>
        <translation>Подписи пока нет. Нажмите Ctrl+Enter, чтобы подписать этот файл, или введите её сами.</translation>
    </message>
    <message>
        <source>No file selected</source>
        <translation>Файл не выбран</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>Ошибка: %1</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>в %1</translation>
    </message>
    <message>
        <source>%1 words · %2 characters</source>
        <translation>слов: %1 · символов: %2</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>Генерация…</translation>
    </message>
    <message>
        <source>Editing…</source>
        <translation>Редактирование…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Сохранение…</translation>
    </message>
    <message>
        <source>Select a file to see it here</source>
        <translation>Выберите файл, чтобы увидеть его здесь</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>Загрузка…</translation>
    </message>
    <message>
        <source>Cannot show this file</source>
        <translation>Не удаётся показать этот файл</translation>
    </message>
</context>
<context>
    <name>CompareDialog</name>
    <message>
        <source>Compare Images</source>
        <translation>Сравнение изображений</translation>
    </message>
    <message>
        <source>Differences</source>
        <translation>Различия</translation>
    </message>
    <message>
        <source>Before / after</source>
        <translation>До / после</translation>
    </message>
    <message>
        <source>Consistent style?</source>
        <translation>Стиль единый?</translation>
    </message>
    <message>
        <source>Same character?</source>
        <translation>Тот же персонаж?</translation>
    </message>
    <message>
        <source>Your own question</source>
        <translation>Свой вопрос</translation>
    </message>
    <message>
        <source>Ask anything about these images…</source>
        <translation>Спросите что угодно об этих изображениях…</translation>
    </message>
    <message>
        <source>The answer appears here as it is written.</source>
        <translation>Ответ появляется здесь по мере написания.</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>Спросить</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Стоп</translation>
    </message>
    <message>
        <source>New question</source>
        <translation>Новый вопрос</translation>
    </message>
    <message>
        <source>Ask another question about the selected images</source>
        <translation>Задать другой вопрос о выбранных изображениях</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Закрыть</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>Удалить…</translation>
    </message>
    <message>
        <source>Delete the selected comparison from the folder&apos;s library</source>
        <translation>Удалить выбранное сравнение из библиотеки папки</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>Вопрос</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>Ответ</translation>
    </message>
    <message>
        <source>Past comparisons</source>
        <translation>Прошлые сравнения</translation>
    </message>
    <message numerus="yes">
        <source>%n image(s), sent to the model in this order</source>
        <translation>
            <numerusform>%n изображение, передаётся модели в этом порядке</numerusform>
            <numerusform>%n изображения, передаются модели в этом порядке</numerusform>
            <numerusform>%n изображений, передаются модели в этом порядке</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot ask: %1</source>
        <translation>Не удаётся спросить: %1</translation>
    </message>
    <message>
        <source>Cannot ask while a caption run uses another model or device: stop it or wait for it to end.</source>
        <translation>Нельзя спросить, пока идёт запуск подписей с другой моделью или устройством: остановите его или дождитесь окончания.</translation>
    </message>
    <message>
        <source>Waiting for the model…</source>
        <translation>Ожидание модели…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Остановка…</translation>
    </message>
    <message numerus="yes">
        <source>Comparing %n image(s)…</source>
        <translation>
            <numerusform>Сравнение %n изображения…</numerusform>
            <numerusform>Сравнение %n изображений…</numerusform>
            <numerusform>Сравнение %n изображений…</numerusform>
        </translation>
    </message>
    <message>
        <source>The comparison failed: %1</source>
        <translation>Сравнение не удалось: %1</translation>
    </message>
    <message>
        <source>Stopped: nothing was stored.</source>
        <translation>Остановлено: ничего не сохранено.</translation>
    </message>
    <message numerus="yes">
        <source>Saved with its %n image(s).</source>
        <translation>
            <numerusform>Сохранено вместе с %n изображением.</numerusform>
            <numerusform>Сохранено вместе с %n изображениями.</numerusform>
            <numerusform>Сохранено вместе с %n изображениями.</numerusform>
        </translation>
    </message>
    <message>
        <source>Could not save the comparison: %1</source>
        <translation>Не удалось сохранить сравнение: %1</translation>
    </message>
    <message numerus="yes">
        <source>%1 · %n image(s)</source>
        <translation>
            <numerusform>%1 · %n изображение</numerusform>
            <numerusform>%1 · %n изображения</numerusform>
            <numerusform>%1 · %n изображений</numerusform>
        </translation>
    </message>
    <message>
        <source>Delete Comparison</source>
        <translation>Удалить сравнение</translation>
    </message>
    <message>
        <source>Delete the comparison asked %1?</source>
        <translation>Удалить сравнение с вопросом %1?</translation>
    </message>
    <message>
        <source>“%1”</source>
        <translation>«%1»</translation>
    </message>
    <message>
        <source>Its question and answer are removed from this folder&apos;s library; the images are not touched.</source>
        <translation>Вопрос и ответ будут удалены из библиотеки этой папки; изображения останутся нетронутыми.</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>Удалить</translation>
    </message>
    <message>
        <source>Comparison deleted.</source>
        <translation>Сравнение удалено.</translation>
    </message>
    <message>
        <source>That comparison was already deleted.</source>
        <translation>Это сравнение уже удалено.</translation>
    </message>
    <message>
        <source>Could not delete the comparison: %1</source>
        <translation>Не удалось удалить сравнение: %1</translation>
    </message>
    <message numerus="yes">
        <source> · %n image(s) missing</source>
        <translation>
            <numerusform> · нет %n изображения</numerusform>
            <numerusform> · нет %n изображений</numerusform>
            <numerusform> · нет %n изображений</numerusform>
        </translation>
    </message>
    <message>
        <source>Asked %1 with %2</source>
        <translation>Спрошено %1, модель %2</translation>
    </message>
</context>
<context>
    <name>DropHint</name>
    <message>
        <source>Drop a folder of images or videos here</source>
        <translation>Перетащите сюда папку с изображениями или видео</translation>
    </message>
    <message>
        <source>Caption Studio shows every image and video at once, writes a caption for each with Qwen3-VL,
and saves it beside the original as a .txt file you can edit.</source>
        <translation>Caption Studio показывает все изображения и видео сразу, пишет подпись к каждому с помощью Qwen3-VL
и сохраняет её рядом с исходным файлом в файле .txt, который можно править.</translation>
    </message>
    <message>
        <source>Open Folder…</source>
        <translation>Открыть папку…</translation>
    </message>
    <message>
        <source>or press Ctrl+O  ·  JPG, PNG, WebP, GIF, BMP, TIFF and videos</source>
        <translation>или нажмите Ctrl+O  ·  JPG, PNG, WebP, GIF, BMP, TIFF и видео</translation>
    </message>
    <message>
        <source>RECENT</source>
        <translation>НЕДАВНИЕ</translation>
    </message>
</context>
<context>
    <name>DropOverlay</name>
    <message>
        <source>Drop to open</source>
        <translation>Отпустите, чтобы открыть</translation>
    </message>
</context>
<context>
    <name>EditControllerMixin</name>
    <message>
        <source>Saved</source>
        <translation>Сохранено</translation>
    </message>
    <message>
        <source>Approved %1 file(s)</source>
        <translation>Одобрено файлов: %1</translation>
    </message>
    <message>
        <source>Flagged %1 file(s)</source>
        <translation>Помечено файлов: %1</translation>
    </message>
    <message>
        <source>Cleared the mark of %1 file(s)</source>
        <translation>Снята отметка, файлов: %1</translation>
    </message>
    <message>
        <source>Nothing to redo</source>
        <translation>Нечего повторять</translation>
    </message>
    <message>
        <source>Nothing to undo</source>
        <translation>Нечего отменять</translation>
    </message>
    <message>
        <source>Redone</source>
        <translation>Повторено</translation>
    </message>
    <message>
        <source>Undone</source>
        <translation>Отменено</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Готово</translation>
    </message>
    <message>
        <source>; %1 changed since and left alone</source>
        <translation>; %1 с тех пор изменены и оставлены как есть</translation>
    </message>
    <message>
        <source>%1: %2%3. Ctrl+Z / Ctrl+Y to undo or redo.</source>
        <translation>%1: %2%3. Ctrl+Z / Ctrl+Y — отменить или повторить.</translation>
    </message>
    <message>
        <source>Select the files to change first (Ctrl+A selects all)</source>
        <translation>Сначала выберите файлы для изменения (Ctrl+A — выбрать все)</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Text sidecars</source>
        <translation>Текстовые файлы рядом</translation>
    </message>
    <message>
        <source>One caption file beside each file (photo.jpg → photo.txt), as kohya, OneTrainer and taggui read them.</source>
        <translation>Файл подписи рядом с каждым файлом (photo.jpg → photo.txt), как их читают kohya, OneTrainer и taggui.</translation>
    </message>
    <message>
        <source>One captions.jsonl, a JSON object per line: path, caption, variants, status, model, prompt, seed.</source>
        <translation>Один captions.jsonl, по объекту JSON в строке: путь, подпись, варианты, статус, модель, промпт, seed.</translation>
    </message>
    <message>
        <source>One captions.json holding a list of the same objects as JSON Lines.</source>
        <translation>Один captions.json со списком тех же объектов, что и в JSON Lines.</translation>
    </message>
    <message>
        <source>One captions.csv for spreadsheets: a row per file, variants JSON-encoded in one column.</source>
        <translation>Один captions.csv для электронных таблиц: строка на файл, варианты в одном столбце в JSON.</translation>
    </message>
    <message>
        <source>metadata.jsonl with file_name and text, for datasets&apos; imagefolder; it belongs at the folder root (images only).</source>
        <translation>metadata.jsonl с file_name и text для imagefolder из datasets; лежит в корне папки (только изображения).</translation>
    </message>
    <message>
        <source>XMP sidecars</source>
        <translation>Файлы XMP рядом</translation>
    </message>
    <message>
        <source>photo.jpg.xmp with the caption as dc:description, for Lightroom, digiKam, darktable; other fields of an existing file are kept.</source>
        <translation>photo.jpg.xmp с подписью в dc:description для Lightroom, digiKam, darktable; прочие поля существующего файла сохраняются.</translation>
    </message>
    <message>
        <source>Comparisons (JSON)</source>
        <translation>Сравнения (JSON)</translation>
    </message>
    <message>
        <source>One comparisons.json with every multi-image comparison: question, images (in order), answer, model, time.</source>
        <translation>Один comparisons.json со всеми сравнениями нескольких изображений: вопрос, изображения (по порядку), ответ, модель, время.</translation>
    </message>
    <message>
        <source>First variant only</source>
        <translation>Только первый вариант</translation>
    </message>
    <message>
        <source>All variants, a blank line between them</source>
        <translation>Все варианты через пустую строку</translation>
    </message>
    <message>
        <source>One file per variant (photo.1.txt, photo.2.txt, …)</source>
        <translation>По файлу на вариант (photo.1.txt, photo.2.txt, …)</translation>
    </message>
    <message>
        <source>Export failed: %1</source>
        <translation>Экспорт не удался: %1</translation>
    </message>
    <message>
        <source>Export captions</source>
        <translation>Экспорт подписей</translation>
    </message>
    <message>
        <source>What and where</source>
        <translation>Что и куда</translation>
    </message>
    <message>
        <source>Files:</source>
        <translation>Файлы:</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>Формат:</translation>
    </message>
    <message>
        <source>Write to:</source>
        <translation>Куда записать:</translation>
    </message>
    <message>
        <source>Skip files that already exist</source>
        <translation>Пропускать уже существующие файлы</translation>
    </message>
    <message>
        <source>Variants:</source>
        <translation>Варианты:</translation>
    </message>
    <message>
        <source>Sidecar extension:</source>
        <translation>Расширение файла:</translation>
    </message>
    <message>
        <source>Only missing:</source>
        <translation>Только недостающие:</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Результат</translation>
    </message>
    <message>
        <source>Nothing exported yet.</source>
        <translation>Пока ничего не экспортировано.</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Экспорт</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Закрыть</translation>
    </message>
    <message>
        <source>All %1 captioned files</source>
        <translation>Все подписанные файлы (%1)</translation>
    </message>
    <message>
        <source>The %1 captioned of %2 selected</source>
        <translation>Подписанные среди выбранных: %1 из %2</translation>
    </message>
    <message>
        <source>This folder:</source>
        <translation>Эта папка:</translation>
    </message>
    <message>
        <source>Choose a folder…</source>
        <translation>Выберите папку…</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Обзор…</translation>
    </message>
    <message>
        <source>Beside the files</source>
        <translation>Рядом с файлами</translation>
    </message>
    <message>
        <source>The media folder (%1 at its root)</source>
        <translation>Папка медиафайлов (%1 в её корне)</translation>
    </message>
    <message>
        <source>Export into folder</source>
        <translation>Экспорт в папку</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>Экспорт…</translation>
    </message>
    <message>
        <source>%1 written, %2 skipped, %3 failed.</source>
        <translation>Записано: %1, пропущено: %2, с ошибкой: %3.</translation>
    </message>
    <message>
        <source>Wrote %1</source>
        <translation>Записан %1</translation>
    </message>
    <message>
        <source>Into %1</source>
        <translation>В %1</translation>
    </message>
    <message>
        <source>Beside the files in %1</source>
        <translation>Рядом с файлами в %1</translation>
    </message>
    <message>
        <source>Exporting… the dialog closes once the export has ended.</source>
        <translation>Экспорт… окно закроется, когда экспорт завершится.</translation>
    </message>
</context>
<context>
    <name>FindReplaceDialog</name>
    <message>
        <source>Find and replace</source>
        <translation>Найти и заменить</translation>
    </message>
    <message>
        <source>Text or regular expression</source>
        <translation>Текст или регулярное выражение</translation>
    </message>
    <message>
        <source>Replacement (\1 for groups in regex mode)</source>
        <translation>Замена (\1 — группы в режиме регулярных выражений)</translation>
    </message>
    <message>
        <source>Regular expression</source>
        <translation>Регулярное выражение</translation>
    </message>
    <message>
        <source>Match case</source>
        <translation>Учитывать регистр</translation>
    </message>
    <message>
        <source>Whole words</source>
        <translation>Слова целиком</translation>
    </message>
    <message>
        <source>All captions in the folder</source>
        <translation>Все подписи в папке</translation>
    </message>
    <message>
        <source>Selected files only</source>
        <translation>Только выбранные файлы</translation>
    </message>
    <message>
        <source>A preview of the first changes appears here.</source>
        <translation>Здесь появится предпросмотр первых изменений.</translation>
    </message>
    <message>
        <source>Replace all</source>
        <translation>Заменить все</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Закрыть</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>Найти</translation>
    </message>
    <message>
        <source>Replace with</source>
        <translation>Заменить на</translation>
    </message>
    <message numerus="yes">
        <source>%n match(es) in %1</source>
        <translation>
            <numerusform>%n совпадение в %1</numerusform>
            <numerusform>%n совпадения в %1</numerusform>
            <numerusform>%n совпадений в %1</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s)</source>
        <translation>
            <numerusform>%n подписи</numerusform>
            <numerusform>%n подписях</numerusform>
            <numerusform>%n подписях</numerusform>
        </translation>
    </message>
    <message>
        <source>… and %1 more</source>
        <translation>… и ещё %1</translation>
    </message>
    <message numerus="yes">
        <source>Replace “%1” in %n caption(s)</source>
        <translation>
            <numerusform>Замена «%1» в %n подписи</numerusform>
            <numerusform>Замена «%1» в %n подписях</numerusform>
            <numerusform>Замена «%1» в %n подписях</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FirstRun</name>
    <message>
        <source>No GPU found: captioning runs on the CPU and will be slow. %1 (the 2B model) is the one to use on a CPU.</source>
        <translation>GPU не найден: подписи создаются на CPU и будут медленными. Для CPU подходит %1 (модель 2B).</translation>
    </message>
    <message>
        <source>No model is downloaded yet: choose one in Models and press Download (%1 is the smallest).</source>
        <translation>Ни одна модель ещё не скачана: выберите модель в «Модели» и нажмите «Скачать» (самая маленькая — %1).</translation>
    </message>
    <message>
        <source>No network, and no Qwen3-VL model is in the Hugging Face cache: connect to the internet to download one, or choose a local checkpoint folder in Models.</source>
        <translation>Нет сети, и в кэше Hugging Face нет модели Qwen3-VL: подключитесь к интернету, чтобы скачать её, или выберите локальную папку с чекпойнтом в «Модели».</translation>
    </message>
</context>
<context>
    <name>FolderControllerMixin</name>
    <message>
        <source>No recent folders</source>
        <translation>Нет недавних папок</translation>
    </message>
    <message>
        <source>Clear Recent Folders</source>
        <translation>Очистить список недавних папок</translation>
    </message>
    <message>
        <source>Open a folder of images and videos</source>
        <translation>Открыть папку с изображениями и видео</translation>
    </message>
    <message>
        <source>“%1” is not a folder (or no longer exists).</source>
        <translation>«%1» — не папка (или больше не существует).</translation>
    </message>
    <message>
        <source>Opening %1…</source>
        <translation>Открывается %1…</translation>
    </message>
    <message>
        <source>Scanning %1</source>
        <translation>Сканирование %1</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Готово</translation>
    </message>
    <message>
        <source>Could not open %1: %2</source>
        <translation>Не удалось открыть %1: %2</translation>
    </message>
    <message>
        <source>Opened %1; the other %2 folder(s) are in File › Open Recent</source>
        <translation>Открыта %1; остальные папки (%2) — в «Файл › Недавние»</translation>
    </message>
</context>
<context>
    <name>GridControllerMixin</name>
    <message>
        <source>All</source>
        <translation>Все</translation>
    </message>
    <message>
        <source>To do</source>
        <translation>Ждут</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Готовы</translation>
    </message>
    <message>
        <source>Edited</source>
        <translation>Правка</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Сбои</translation>
    </message>
    <message>
        <source>Cut</source>
        <translation>Обрез.</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>Одобр.</translation>
    </message>
    <message>
        <source>Flagged</source>
        <translation>Помеч.</translation>
    </message>
    <message>
        <source>Filter: words, tag:x, status:edited, tokens:&gt;77…  (Ctrl+F)</source>
        <translation>Фильтр: слова, tag:x, status:edited, tokens:&gt;77…  (Ctrl+F)</translation>
    </message>
    <message>
        <source>Sort order</source>
        <translation>Порядок сортировки</translation>
    </message>
    <message>
        <source>Sort by name</source>
        <translation>По имени</translation>
    </message>
    <message>
        <source>Newest first</source>
        <translation>Сначала новые</translation>
    </message>
    <message>
        <source>Oldest first</source>
        <translation>Сначала старые</translation>
    </message>
    <message>
        <source>Tile size (Ctrl+wheel)</source>
        <translation>Размер плиток (Ctrl+колесо)</translation>
    </message>
    <message>
        <source>%1 selected</source>
        <translation>Выбрано: %1</translation>
    </message>
    <message>
        <source>%1 file(s) · %2 captioned</source>
        <translation>файлов: %1 · подписано: %2</translation>
    </message>
</context>
<context>
    <name>LanguageChooser</name>
    <message>
        <source>System</source>
        <translation>Как в системе</translation>
    </message>
    <message>
        <source>The language changes the next time Caption Studio starts.</source>
        <translation>Язык сменится при следующем запуске Caption Studio.</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Язык</translation>
    </message>
</context>
<context>
    <name>LiveCard</name>
    <message>
        <source>failed</source>
        <extracomment>Control characters (a random model emits them) shown as spaces; newlines kept.</extracomment>
        <translation>ошибка</translation>
    </message>
    <message>
        <source>done</source>
        <translation>готово</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>остановлено</translation>
    </message>
    <message numerus="yes">
        <source>%n word(s)</source>
        <translation>
            <numerusform>%n слово</numerusform>
            <numerusform>%n слова</numerusform>
            <numerusform>%n слов</numerusform>
        </translation>
    </message>
    <message>
        <source>thinking: </source>
        <translation>размышление: </translation>
    </message>
    <message>
        <source>thinking</source>
        <translation>размышление</translation>
    </message>
</context>
<context>
    <name>LivePanel</name>
    <message>
        <source>Captions appear here as they are written, several at a time.</source>
        <translation>Подписи появляются здесь по мере написания, по нескольку сразу.</translation>
    </message>
    <message>
        <source>Nothing is being captioned</source>
        <translation>Сейчас ничего не подписывается</translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s) in flight  ·  %1 finished in these runs</source>
        <translation>
            <numerusform>В работе %n подпись  ·  готово в этих запусках: %1</numerusform>
            <numerusform>В работе %n подписи  ·  готово в этих запусках: %1</numerusform>
            <numerusform>В работе %n подписей  ·  готово в этих запусках: %1</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s) in flight  ·  %1 finished this run</source>
        <translation>
            <numerusform>В работе %n подпись  ·  готово за этот запуск: %1</numerusform>
            <numerusform>В работе %n подписи  ·  готово за этот запуск: %1</numerusform>
            <numerusform>В работе %n подписей  ·  готово за этот запуск: %1</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LogPanel</name>
    <message>
        <source>Time</source>
        <translation>Время</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Файл</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>Проблема</translation>
    </message>
    <message>
        <source>No problems so far.</source>
        <translation>Проблем пока нет.</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Очистить</translation>
    </message>
    <message numerus="yes">
        <source>%n problem(s) · double-click a row to show its file</source>
        <translation>
            <numerusform>%n проблема · двойной щелчок по строке покажет файл</numerusform>
            <numerusform>%n проблемы · двойной щелчок по строке покажет файл</numerusform>
            <numerusform>%n проблем · двойной щелчок по строке покажет файл</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Undo Batch Edit</source>
        <translation>Отменить пакетную правку</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>Отменить</translation>
    </message>
    <message>
        <source>Redo Batch Edit</source>
        <translation>Повторить пакетную правку</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>Повторить</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>Модели…</translation>
    </message>
    <message>
        <source>Export is not available in this build (%1).</source>
        <translation>Экспорт недоступен в этой сборке (%1).</translation>
    </message>
    <message>
        <source>The model manager is not available in this build (%1).</source>
        <translation>Менеджер моделей недоступен в этой сборке (%1).</translation>
    </message>
    <message>
        <source>Stop the run before unloading the model</source>
        <translation>Остановите запуск, прежде чем выгружать модель</translation>
    </message>
    <message>
        <source>Problems (%1)</source>
        <translation>Проблемы (%1)</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>Проблемы</translation>
    </message>
    <message>
        <source>RAM %1 GB</source>
        <translation>ОЗУ %1 ГБ</translation>
    </message>
    <message>
        <source>VRAM %1 / %2 GB</source>
        <translation>Видеопамять %1 / %2 ГБ</translation>
    </message>
</context>
<context>
    <name>MediaListModel</name>
    <message>
        <source>Status: %1</source>
        <extracomment>Every status a tile can show: the library&apos;s four plus the run&apos;s transient two. Named status filters of the proxy; &quot;truncated&quot; filters on the flag, and the review filters on the user&apos;s mark (see `REVIEW_FILTERS`), not on a status. The status filters that show one review mark (the library&apos;s `Review` values). How long streamed text may wait before the views hear of it (STYLE: 30-50 ms flushes).</extracomment>
        <translation>Статус: %1</translation>
    </message>
    <message>
        <source>Caption cut at the token limit</source>
        <translation>Подпись обрезана по лимиту токенов</translation>
    </message>
    <message>
        <source>Failure: %1</source>
        <translation>Ошибка: %1</translation>
    </message>
    <message>
        <source>Review: %1</source>
        <translation>Проверка: %1</translation>
    </message>
    <message>
        <source>No caption: the reasoning did not finish within Max new tokens. Raise Max new tokens and caption it again.</source>
        <translation>Нет подписи: рассуждение не уложилось в «Макс. новых токенов». Увеличьте «Макс. новых токенов» и подпишите файл снова.</translation>
    </message>
    <message>
        <source>No caption: the model answered with no text. Try another prompt, seed or temperature.</source>
        <translation>Нет подписи: модель ответила без текста. Попробуйте другой промпт, seed или температуру.</translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>Model</source>
        <translation>Модель</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>Параметры</translation>
    </message>
    <message>
        <source>bf16 weights</source>
        <translation>Веса bf16</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Тип</translation>
    </message>
    <message>
        <source>In cache</source>
        <translation>В кэше</translation>
    </message>
    <message>
        <source>VRAM (rough)</source>
        <translation>Видеопамять (примерно)</translation>
    </message>
    <message>
        <source>Download of %1 failed: %2</source>
        <translation>Не удалось скачать %1: %2</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Модели</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>Скачать</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>Отменить загрузку</translation>
    </message>
    <message>
        <source>Choose local folder…</source>
        <translation>Выбрать локальную папку…</translation>
    </message>
    <message>
        <source>Unload model</source>
        <translation>Выгрузить модель</translation>
    </message>
    <message>
        <source>Use selected</source>
        <translation>Использовать выбранную</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Закрыть</translation>
    </message>
    <message>
        <source>Local: %1</source>
        <translation>Локальная: %1</translation>
    </message>
    <message>
        <source>Thinking</source>
        <translation>Thinking (рассуждающая)</translation>
    </message>
    <message>
        <source>Instruct</source>
        <translation>Instruct</translation>
    </message>
    <message>
        <source>bf16 ≈ %1 GB, 4-bit ≈ %2 GB, plus images and batch</source>
        <translation>bf16 ≈ %1 ГБ, 4 бита ≈ %2 ГБ, плюс изображения и пакет</translation>
    </message>
    <message>
        <source>local folder</source>
        <translation>локальная папка</translation>
    </message>
    <message>
        <source>%1  (loaded)</source>
        <translation>%1  (загружена)</translation>
    </message>
    <message>
        <source>no</source>
        <translation>нет</translation>
    </message>
    <message>
        <source>yes, %1</source>
        <translation>да, %1</translation>
    </message>
    <message>
        <source>partial, %1</source>
        <translation>частично, %1</translation>
    </message>
    <message>
        <source>No network: no Qwen3-VL model is in the Hugging Face cache (%1). Choose a local checkpoint folder, or download a model on a connected machine.</source>
        <translation>Нет сети: в кэше Hugging Face (%1) нет модели Qwen3-VL. Выберите локальную папку с чекпойнтом или скачайте модель на компьютере с интернетом.</translation>
    </message>
    <message>
        <source>%1 ready in the cache</source>
        <translation>готовых в кэше: %1</translation>
    </message>
    <message>
        <source>none in the cache yet</source>
        <translation>в кэше пока нет</translation>
    </message>
    <message>
        <source>Offline: downloads are off. </source>
        <translation>Офлайн: загрузка отключена. </translation>
    </message>
    <message>
        <source>Qwen3-VL models: %1 (%2).</source>
        <translation>Модели Qwen3-VL: %1 (%2).</translation>
    </message>
    <message>
        <source>No network: %1 is not in the cache and cannot be downloaded now; %2.</source>
        <translation>Нет сети: %1 нет в кэше, и скачать её сейчас нельзя; %2.</translation>
    </message>
    <message>
        <source>Chosen: %1</source>
        <translation>Выбрана: %1</translation>
    </message>
    <message>
        <source>Unloading the model…</source>
        <translation>Выгрузка модели…</translation>
    </message>
    <message>
        <source>Choose a Qwen3-VL checkpoint folder</source>
        <translation>Выберите папку с чекпойнтом Qwen3-VL</translation>
    </message>
    <message>
        <source>Not a usable checkpoint: %1</source>
        <translation>Непригодный чекпойнт: %1</translation>
    </message>
    <message>
        <source>Local checkpoint %1 is ready: press Use selected.</source>
        <translation>Локальный чекпойнт %1 готов: нажмите «Использовать выбранную».</translation>
    </message>
    <message>
        <source>Downloading %1: listing files…</source>
        <translation>Загрузка %1: получение списка файлов…</translation>
    </message>
    <message>
        <source>Cancel stops within a chunk; files already finished stay in the cache.</source>
        <translation>Отмена срабатывает в пределах одного блока; уже скачанные файлы остаются в кэше.</translation>
    </message>
    <message>
        <source>Cancelling the download…</source>
        <translation>Отмена загрузки…</translation>
    </message>
    <message>
        <source>Downloading %1: %2 of %3 — %4</source>
        <translation>Загрузка %1: %2 из %3 — %4</translation>
    </message>
    <message>
        <source>Downloaded %1 to %2.</source>
        <translation>%1 скачана в %2.</translation>
    </message>
    <message>
        <source>Download of %1 cancelled; the files it finished stay in the cache and are not fetched again.</source>
        <translation>Загрузка %1 отменена; уже скачанные файлы остаются в кэше и повторно не загружаются.</translation>
    </message>
</context>
<context>
    <name>PromptComposer</name>
    <message>
        <source>Word count…</source>
        <extracomment>The RunSettings fields the composer owns.</extracomment>
        <translation>Число слов…</translation>
    </message>
    <message>
        <source> words</source>
        <translation> слов</translation>
    </message>
    <message>
        <source>The prompt is written in this language, so the model answers in it</source>
        <translation>Промпт пишется на этом языке, поэтому модель отвечает на нём</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Тип</translation>
    </message>
    <message>
        <source>Length</source>
        <translation>Длина</translation>
    </message>
    <message>
        <source>Caption in</source>
        <translation>Язык подписи</translation>
    </message>
    <message>
        <source>What should the model write?</source>
        <translation>Что должна написать модель?</translation>
    </message>
    <message>
        <source>Insert: %1</source>
        <translation>Вставить: %1</translation>
    </message>
    <message>
        <source>System prompt (optional)</source>
        <translation>Системный промпт (необязательно)</translation>
    </message>
    <message>
        <source>Your saved presets</source>
        <translation>Ваши сохранённые пресеты</translation>
    </message>
    <message>
        <source>Save…</source>
        <translation>Сохранить…</translation>
    </message>
    <message>
        <source>Save these choices as a preset</source>
        <translation>Сохранить этот выбор как пресет</translation>
    </message>
    <message>
        <source>Rename, delete, export or import presets</source>
        <translation>Переименовать, удалить, экспортировать или импортировать пресеты</translation>
    </message>
    <message>
        <source>Rename preset…</source>
        <translation>Переименовать пресет…</translation>
    </message>
    <message>
        <source>Delete preset…</source>
        <translation>Удалить пресет…</translation>
    </message>
    <message>
        <source>Export presets…</source>
        <translation>Экспорт пресетов…</translation>
    </message>
    <message>
        <source>Import presets…</source>
        <translation>Импорт пресетов…</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>Параметры</translation>
    </message>
    <message>
        <source>Reset to composed</source>
        <translation>Вернуть составленный</translation>
    </message>
    <message>
        <source>Throw away your edits and use the composed prompt</source>
        <translation>Отбросить ваши правки и взять составленный промпт</translation>
    </message>
    <message>
        <source>No saved preset</source>
        <translation>Без пресета</translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation>Не сохранено: %1</translation>
    </message>
    <message>
        <source>Saved preset “%1”.</source>
        <translation>Пресет «%1» сохранён.</translation>
    </message>
    <message>
        <source>Not renamed: %1</source>
        <translation>Не переименовано: %1</translation>
    </message>
    <message>
        <source>Renamed to “%1”.</source>
        <translation>Переименовано в «%1».</translation>
    </message>
    <message>
        <source>Not deleted: %1</source>
        <translation>Не удалено: %1</translation>
    </message>
    <message>
        <source>Deleted preset “%1”.</source>
        <translation>Пресет «%1» удалён.</translation>
    </message>
    <message>
        <source>Not exported: %1</source>
        <translation>Не экспортировано: %1</translation>
    </message>
    <message>
        <source>Exported %1 presets to %2.</source>
        <translation>Экспортировано пресетов: %1, в %2.</translation>
    </message>
    <message>
        <source>Not imported: %1</source>
        <translation>Не импортировано: %1</translation>
    </message>
    <message>
        <source>Imported %1 presets: %2</source>
        <translation>Импортировано пресетов: %1: %2</translation>
    </message>
    <message>
        <source>This type ignores the length</source>
        <translation>Этот тип не учитывает длину</translation>
    </message>
    <message>
        <source>Custom prompt (edited)</source>
        <translation>Свой промпт (изменён)</translation>
    </message>
    <message>
        <source>Prompt (composed)</source>
        <translation>Промпт (составлен)</translation>
    </message>
    <message>
        <source>Save preset</source>
        <translation>Сохранить пресет</translation>
    </message>
    <message>
        <source>Preset name:</source>
        <translation>Имя пресета:</translation>
    </message>
    <message>
        <source>Replace the preset “%1”?</source>
        <translation>Заменить пресет «%1»?</translation>
    </message>
    <message>
        <source>Rename preset</source>
        <translation>Переименовать пресет</translation>
    </message>
    <message>
        <source>New name:</source>
        <translation>Новое имя:</translation>
    </message>
    <message>
        <source>Delete preset</source>
        <translation>Удалить пресет</translation>
    </message>
    <message>
        <source>Delete the preset “%1”?</source>
        <translation>Удалить пресет «%1»?</translation>
    </message>
    <message>
        <source>Export presets</source>
        <translation>Экспорт пресетов</translation>
    </message>
    <message>
        <source>Presets (*.json)</source>
        <translation>Пресеты (*.json)</translation>
    </message>
    <message>
        <source>Import presets</source>
        <translation>Импорт пресетов</translation>
    </message>
    <message>
        <source>Presets (*.json);;All files (*)</source>
        <translation>Пресеты (*.json);;Все файлы (*)</translation>
    </message>
</context>
<context>
    <name>RunChip</name>
    <message>
        <source>Stop this run (the others go on)</source>
        <translation>Остановить этот запуск (остальные продолжатся)</translation>
    </message>
</context>
<context>
    <name>RunControllerMixin</name>
    <message>
        <source>Loading model</source>
        <translation>Загрузка модели</translation>
    </message>
    <message>
        <source>Model ready</source>
        <translation>Модель готова</translation>
    </message>
    <message>
        <source>Warming up</source>
        <translation>Прогрев</translation>
    </message>
    <message>
        <source>Captioning</source>
        <translation>Создание подписей</translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation>Загрузка</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Готово</translation>
    </message>
    <message>
        <source>Cannot caption: %1</source>
        <translation>Не удаётся подписать: %1</translation>
    </message>
    <message>
        <source>Preparing…</source>
        <translation>Подготовка…</translation>
    </message>
    <message>
        <source>Select files first (Ctrl+A selects all)</source>
        <translation>Сначала выберите файлы (Ctrl+A — выбрать все)</translation>
    </message>
    <message>
        <source>Cannot caption with %1 while a run with another model or device is going: stop it (Esc) or wait for it to end.</source>
        <translation>Нельзя подписывать с %1, пока идёт запуск с другой моделью или устройством: остановите его (Esc) или дождитесь окончания.</translation>
    </message>
    <message>
        <source>Another caption run is working on this folder (%1): wait for it to end, then caption again.</source>
        <translation>С этой папкой уже работает другой запуск подписей (%1): дождитесь его окончания и запустите снова.</translation>
    </message>
    <message>
        <source>%1 file(s) already queued in another run were left out of this one</source>
        <translation>Уже в очереди другого запуска, в этот не вошло файлов: %1</translation>
    </message>
    <message>
        <source>Nothing to caption: the %1 file(s) are already queued in a run that is going.</source>
        <translation>Подписывать нечего: все файлы (%1) уже в очереди идущего запуска.</translation>
    </message>
    <message>
        <source>Checking the decode loop</source>
        <translation>Проверка цикла декодирования</translation>
    </message>
    <message>
        <source>Nothing to caption: every selected file is already captioned or edited.</source>
        <translation>Подписывать нечего: все выбранные файлы уже подписаны или изменены.</translation>
    </message>
    <message>
        <source>Nothing to caption: every file is already captioned or edited.</source>
        <translation>Подписывать нечего: все файлы уже подписаны или изменены.</translation>
    </message>
    <message>
        <source>Choose “Overwrite” under Run settings to caption them again.</source>
        <translation>Выберите «Перезаписывать всё» в настройках запуска, чтобы подписать их заново.</translation>
    </message>
    <message>
        <source>Cannot start: %1</source>
        <translation>Не удаётся запустить: %1</translation>
    </message>
    <message>
        <source>Selected</source>
        <translation>Выбранные</translation>
    </message>
    <message>
        <source>All</source>
        <translation>Все</translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>остановка…</translation>
    </message>
    <message>
        <source>Run %1 · %2 · %3</source>
        <translation>Запуск %1 · %2 · %3</translation>
    </message>
    <message>
        <source>%1 file(s) of %2 · Stop stops this run only</source>
        <translation>Файлов: %1 из «%2» · «Стоп» останавливает только этот запуск</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Остановка…</translation>
    </message>
    <message>
        <source>%1: %2 runs, %3 files</source>
        <translation>%1 · запусков: %2, файлов: %3</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Captions with transformers&apos; generate(), batch by batch (slower): %1</source>
        <translation>Подписи через generate() из transformers, пакет за пакетом (медленнее): %1</translation>
    </message>
    <message>
        <source>chosen in the settings</source>
        <translation>выбрано в настройках</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>Модель не загружена</translation>
    </message>
    <message>
        <source>The model could not be loaded. %1</source>
        <translation>Не удалось загрузить модель. %1</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>Не сохранено</translation>
    </message>
    <message>
        <source> · %1 failed</source>
        <translation> · с ошибкой: %1</translation>
    </message>
    <message>
        <source>%1 files/s</source>
        <translation>%1 файл./с</translation>
    </message>
    <message>
        <source>%1: %2 file(s)</source>
        <translation>%1 · файлов: %2</translation>
    </message>
    <message>
        <source>%1 · %2 left</source>
        <translation>%1 · осталось %2</translation>
    </message>
    <message>
        <source>Captioning with generate() instead of the decode loop (slower): %1</source>
        <translation>Подписи через generate() вместо цикла декодирования (медленнее): %1</translation>
    </message>
    <message>
        <source>continuous</source>
        <translation>непрерывный</translation>
    </message>
    <message>
        <source>Continuous batching: captions decode together in one loop; a free slot takes the next file at once</source>
        <translation>Непрерывный батчинг: подписи декодируются вместе в одном цикле; освободившийся слот сразу берёт следующий файл</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>Остановлено</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>Завершено</translation>
    </message>
    <message>
        <source>Captioning stopped: %1</source>
        <translation>Создание подписей остановлено: %1</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Сбой</translation>
    </message>
</context>
<context>
    <name>SettingsPanel</name>
    <message>
        <source>Skip captioned and edited</source>
        <translation>Пропускать подписанные и изменённые</translation>
    </message>
    <message>
        <source>Skip edited only (redo generated)</source>
        <translation>Пропускать только изменённые (сгенерированные — заново)</translation>
    </message>
    <message>
        <source>Overwrite everything</source>
        <translation>Перезаписывать всё</translation>
    </message>
    <message>
        <source>No cap · tokens grow with each image&apos;s size</source>
        <extracomment>Longest-side choices of the image resolution cap; 0 means no cap.</extracomment>
        <translation>Без ограничения · число токенов растёт с размером изображения</translation>
    </message>
    <message>
        <source>%1 × %1 px · ≈ %2 visual tokens</source>
        <translation>%1 × %1 пикс. · ≈ %2 визуальных токенов</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Модель</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Промпт</translation>
    </message>
    <message>
        <source>Generation</source>
        <translation>Генерация</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>Изображения</translation>
    </message>
    <message>
        <source>Video</source>
        <translation>Видео</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Запуск</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>Интерфейс</translation>
    </message>
    <message>
        <source>A known model, a Hugging Face repo id or a local folder</source>
        <translation>Известная модель, id репозитория Hugging Face или локальная папка</translation>
    </message>
    <message>
        <source>Use a local checkpoint folder…</source>
        <translation>Использовать локальную папку с чекпойнтом…</translation>
    </message>
    <message>
        <source>4/8-bit (bitsandbytes, CUDA) saves memory; it is not faster</source>
        <translation>4/8 бит (bitsandbytes, CUDA) экономит память, но не ускоряет</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Устройство</translation>
    </message>
    <message>
        <source>Precision</source>
        <translation>Точность</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>Квантизация</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>Локально</translation>
    </message>
    <message>
        <source>Remote (OpenAI-compatible)</source>
        <translation>Удалённо (совместимо с OpenAI)</translation>
    </message>
    <message>
        <source>Comma-separated server URLs (vLLM, SGLang, LM Studio, Ollama, caption-studio serve); the API key comes from CAPTION_STUDIO_API_KEY or the OS keyring</source>
        <translation>Адреса серверов через запятую (vLLM, SGLang, LM Studio, Ollama, caption-studio serve); ключ API берётся из CAPTION_STUDIO_API_KEY или из хранилища ключей ОС</translation>
    </message>
    <message>
        <source>first served</source>
        <translation>первая доступная</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>Бэкенд</translation>
    </message>
    <message>
        <source>Endpoints</source>
        <translation>Серверы</translation>
    </message>
    <message>
        <source>Served model</source>
        <translation>Модель на сервере</translation>
    </message>
    <message>
        <source>Concurrency</source>
        <translation>Параллельность</translation>
    </message>
    <message>
        <source>Manage models…</source>
        <translation>Управление моделями…</translation>
    </message>
    <message>
        <source>Greedy (0)</source>
        <translation>Жадный (0)</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>Выкл.</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>Авто</translation>
    </message>
    <message>
        <source>Captions generated at once; Auto fits the batch to free memory</source>
        <translation>Сколько подписей создаётся одновременно; «Авто» подбирает пакет под свободную память</translation>
    </message>
    <message>
        <source>Max new tokens</source>
        <translation>Макс. новых токенов</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Температура</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Seed</translation>
    </message>
    <message>
        <source>Variants</source>
        <translation>Варианты</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>Размер пакета</translation>
    </message>
    <message>
        <source>Resolution cap</source>
        <translation>Ограничение разрешения</translation>
    </message>
    <message>
        <source>Include subfolders</source>
        <translation>Включая подпапки</translation>
    </message>
    <message>
        <source>When captioning</source>
        <translation>При подписывании</translation>
    </message>
    <message>
        <source>Caption files</source>
        <translation>Файлы подписей</translation>
    </message>
    <message>
        <source>Choose a Qwen3-VL checkpoint folder</source>
        <translation>Выберите папку с чекпойнтом Qwen3-VL</translation>
    </message>
</context>
<context>
    <name>TagController</name>
    <message>
        <source>Tags</source>
        <translation>Теги</translation>
    </message>
    <message>
        <source>Select the files to change first</source>
        <translation>Сначала выберите файлы для изменения</translation>
    </message>
    <message>
        <source>No caption changes</source>
        <translation>Подписи не изменились</translation>
    </message>
</context>
<context>
    <name>TagCountModel</name>
    <message numerus="yes">
        <source>%n caption(s) have “%1”</source>
        <translation>
            <numerusform>«%1» есть в %n подписи</numerusform>
            <numerusform>«%1» есть в %n подписях</numerusform>
            <numerusform>«%1» есть в %n подписях</numerusform>
        </translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>Тег</translation>
    </message>
    <message>
        <source>Count</source>
        <translation>Количество</translation>
    </message>
</context>
<context>
    <name>TagEditor</name>
    <message>
        <source>Tags</source>
        <translation>Теги</translation>
    </message>
    <message>
        <source>Show the caption as a list of tags too</source>
        <translation>Показывать подпись также списком тегов</translation>
    </message>
    <message>
        <source>Add a tag…</source>
        <translation>Добавить тег…</translation>
    </message>
    <message>
        <source>Remove the selected tags (Delete)</source>
        <translation>Удалить выбранные теги (Delete)</translation>
    </message>
    <message>
        <source>Move the selected tag earlier</source>
        <translation>Переместить выбранный тег ближе к началу</translation>
    </message>
    <message>
        <source>Move the selected tag later</source>
        <translation>Переместить выбранный тег ближе к концу</translation>
    </message>
    <message>
        <source>A sentence: tag edits leave it as it is (edit it in the text)</source>
        <translation>Предложение: правка тегов его не трогает (правьте его в тексте)</translation>
    </message>
</context>
<context>
    <name>TagPanel</name>
    <message>
        <source>Search tags</source>
        <translation>Поиск тегов</translation>
    </message>
    <message>
        <source>What separates tags in a caption</source>
        <translation>Чем разделяются теги в подписи</translation>
    </message>
    <message>
        <source>Separator</source>
        <translation>Разделитель</translation>
    </message>
    <message>
        <source>Counting tags…</source>
        <translation>Подсчёт тегов…</translation>
    </message>
    <message>
        <source>%1 tags · %2 uses</source>
        <translation>тегов: %1 · использований: %2</translation>
    </message>
    <message>
        <source>No tags yet</source>
        <translation>Тегов пока нет</translation>
    </message>
    <message>
        <source>in the folder</source>
        <translation>во всей папке</translation>
    </message>
    <message>
        <source>Selected files only</source>
        <translation>Только выбранные файлы</translation>
    </message>
    <message>
        <source>Rename, delete, move and de-duplicate in the selected files only (else in the whole folder)</source>
        <translation>Переименовывать, удалять, перемещать и убирать дубли только в выбранных файлах (иначе во всей папке)</translation>
    </message>
    <message>
        <source>Click: show files with this tag · Double-click: add it to the selected captions · Right-click: rename, delete, move to front</source>
        <translation>Щелчок: показать файлы с этим тегом · Двойной щелчок: добавить его к выбранным подписям · Правый щелчок: переименовать, удалить, переместить в начало</translation>
    </message>
    <message>
        <source>in the selected files</source>
        <translation>в выбранных файлах</translation>
    </message>
    <message>
        <source>Show files with “%1”</source>
        <translation>Показать файлы с «%1»</translation>
    </message>
    <message>
        <source>Add “%1” to the selected captions</source>
        <translation>Добавить «%1» к выбранным подписям</translation>
    </message>
    <message>
        <source>Add “%1” at the front of the selected captions</source>
        <translation>Добавить «%1» в начало выбранных подписей</translation>
    </message>
    <message>
        <source>Rename “%1” %2…</source>
        <translation>Переименовать «%1» %2…</translation>
    </message>
    <message>
        <source>Delete “%1” %2</source>
        <translation>Удалить «%1» %2</translation>
    </message>
    <message>
        <source>Move “%1” to the front %2</source>
        <translation>Переместить «%1» в начало %2</translation>
    </message>
    <message>
        <source>Remove duplicate tags %1</source>
        <translation>Убрать повторяющиеся теги %1</translation>
    </message>
    <message>
        <source>Rename tag</source>
        <translation>Переименовать тег</translation>
    </message>
    <message>
        <source>New name for “%1”</source>
        <translation>Новое имя для «%1»</translation>
    </message>
</context>
<context>
    <name>ThumbnailLoader</name>
    <message>
        <source>Cannot show: {reason}</source>
        <extracomment>Longest edge of a thumbnail in pixels (tiles scale it down to fit). Bumped when the cached thumbnail format changes, so old files are never read.</extracomment>
        <translation>Не удаётся показать: {reason}</translation>
    </message>
</context>
<context>
    <name>TileDelegate</name>
    <message>
        <source>pending</source>
        <extracomment>Badge colour and label of each status (the label is painted too: never colour alone).</extracomment>
        <translation>ожидает</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>в очереди</translation>
    </message>
    <message>
        <source>generating</source>
        <translation>генерация</translation>
    </message>
    <message>
        <source>done</source>
        <translation>готово</translation>
    </message>
    <message>
        <source>edited</source>
        <translation>правка</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>ошибка</translation>
    </message>
    <message>
        <source>cut</source>
        <extracomment>Mark colour and glyph of each review mark, painted in the thumbnail&apos;s bottom-right corner.</extracomment>
        <translation>обрезано</translation>
    </message>
    <message>
        <source>generating…</source>
        <translation>генерация…</translation>
    </message>
    <message>
        <source>unfinished</source>
        <translation>не закончено</translation>
    </message>
    <message>
        <source>no text</source>
        <translation>нет текста</translation>
    </message>
</context>
<context>
    <name>TokenCounter</name>
    <message>
        <source>CLIP ViT-L/14 tokens, the start and end tokens included: {fit} tokens of text fit in CLIP&apos;s {limit}.</source>
        <extracomment>Coalesces counting while text streams in or the user types.</extracomment>
        <translation>Токены CLIP ViT-L/14, включая начальный и конечный: в лимит CLIP ({limit}) помещается {fit} токенов текста.</translation>
    </message>
    <message>
        <source>CLIP drops the last {n} tokens, from here on:</source>
        <translation>CLIP отбрасывает последние токены ({n}), начиная отсюда:</translation>
    </message>
    <message>
        <source>{count} / {limit} tokens</source>
        <translation>токенов: {count} / {limit}</translation>
    </message>
</context>
<context>
    <name>VideoPlayer</name>
    <message>
        <source>{fps} fps</source>
        <extracomment>Frames shown per second while playing. Longest edge of a frame shown paused or scrubbed (enough for the panel on a large screen). Longest edge of the frames shown while playing (decoded ahead: smaller, to keep up). Seconds of frames decoded in one go while playing.</extracomment>
        <translation>{fps} кадр/с</translation>
    </message>
    <message>
        <source>Play / pause (Space on the slider)</source>
        <translation>Воспроизвести / пауза (пробел на ползунке)</translation>
    </message>
    <message>
        <source>Drag to scrub; arrow keys step a frame</source>
        <translation>Перетаскивайте для перемотки; стрелки — на кадр</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>Загрузка…</translation>
    </message>
    <message>
        <source>Cannot play this video:
{reason}</source>
        <translation>Не удаётся воспроизвести это видео:
{reason}</translation>
    </message>
    <message>
        <source>Cannot show this frame:
{reason}</source>
        <translation>Не удаётся показать этот кадр:
{reason}</translation>
    </message>
</context>
<context>
    <name>VideoSettings</name>
    <message>
        <source>≤ %1 frames × %2 ≈ %3 visual tokens</source>
        <extracomment>Qwen3-VL&apos;s video processor (cap_pixels_per_frame, as the engine asks): a frame pair costs at most 768 tokens, and all frames share a budget of 24,576 32x32-pixel patches (the checkpoints&apos; video_preprocessor_config longest_edge), so more frames means smaller frames.</extracomment>
        <translation>≤ %1 кадр. × %2 ≈ %3 визуальных токенов</translation>
    </message>
    <message>
        <source>The video end (%1 s) must be after its start (%2 s).</source>
        <translation>Конец видео (%1 с) должен быть позже его начала (%2 с).</translation>
    </message>
    <message>
        <source>Frames sampled per second of video (Qwen3-VL was trained on 2)</source>
        <translation>Сколько кадров брать на секунду видео (Qwen3-VL обучена на 2)</translation>
    </message>
    <message>
        <source>At most this many frames per video; longer videos are sampled more sparsely</source>
        <translation>Не больше стольких кадров на видео; из длинных видео кадры берутся реже</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Начало</translation>
    </message>
    <message>
        <source>Caption videos from this time on (seconds; Start = from the beginning)</source>
        <translation>Подписывать видео начиная с этого момента (секунды; «Начало» — с самого начала)</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Конец</translation>
    </message>
    <message>
        <source>Caption videos up to this time (seconds; End = to the end)</source>
        <translation>Подписывать видео до этого момента (секунды; «Конец» — до самого конца)</translation>
    </message>
    <message>
        <source>Frames per second</source>
        <translation>Кадров в секунду</translation>
    </message>
    <message>
        <source>Max frames</source>
        <translation>Макс. кадров</translation>
    </message>
    <message>
        <source>Trim (s)</source>
        <translation>Отрезок (с)</translation>
    </message>
    <message>
        <source>Visual tokens of one video at the resolution cap: frames × tokens per frame. Qwen3-VL shrinks the frames of a long video so that they share one budget.</source>
        <translation>Визуальные токены одного видео при текущем ограничении разрешения: кадры × токены на кадр. Qwen3-VL уменьшает кадры длинного видео, чтобы они уместились в один общий бюджет.</translation>
    </message>
</context>
<context>
    <name>VideoTiles</name>
    <message>
        <source>Video</source>
        <extracomment>Where in a clip its poster frame is taken (a fraction of the duration). Clips shorter than this (seconds) show their first frame. The key of the JPEG comment holding a cached poster&apos;s video facts (Qt reads &quot;key: value&quot;).</extracomment>
        <translation>Видео</translation>
    </message>
    <message>
        <source>Video, {duration}</source>
        <translation>Видео, {duration}</translation>
    </message>
</context>
<context>
    <name>WindowChromeMixin</name>
    <message>
        <source>%1 (%2)</source>
        <extracomment>Streamed text reaches the grid&apos;s tiles this often (the live panel and editor get every 40 ms flush; a tile shows two lines, and repainting it less leaves the GIL to the worker).</extracomment>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Open Folder…</source>
        <translation>Открыть папку…</translation>
    </message>
    <message>
        <source>Caption All</source>
        <translation>Подписать все</translation>
    </message>
    <message>
        <source>Caption Selected</source>
        <translation>Подписать выбранные</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>Стоп</translation>
    </message>
    <message>
        <source>Stop or Back to Grid</source>
        <translation>Остановить или вернуться к сетке</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>Экспорт…</translation>
    </message>
    <message>
        <source>Export captions to files</source>
        <translation>Экспортировать подписи в файлы</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>Модели</translation>
    </message>
    <message>
        <source>Choose, download or unload a model</source>
        <translation>Выбрать, скачать или выгрузить модель</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>Отменить</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>Повторить</translation>
    </message>
    <message>
        <source>Find and Replace…</source>
        <translation>Найти и заменить…</translation>
    </message>
    <message>
        <source>Add Text to Selected…</source>
        <translation>Добавить текст к выбранным…</translation>
    </message>
    <message>
        <source>Prepend or append text to the selected captions</source>
        <translation>Добавить текст в начало или конец выбранных подписей</translation>
    </message>
    <message>
        <source>Filter</source>
        <translation>Фильтр</translation>
    </message>
    <message>
        <source>Edit Caption</source>
        <translation>Редактировать подпись</translation>
    </message>
    <message>
        <source>Caption every file the run policy allows</source>
        <translation>Подписать все файлы, которые допускает правило запуска</translation>
    </message>
    <message>
        <source>Caption the selected files</source>
        <translation>Подписать выбранные файлы</translation>
    </message>
    <message>
        <source>Stop the newest run; finished captions are kept, other runs go on (Esc)</source>
        <translation>Остановить последний запуск; готовые подписи сохраняются, остальные запуски продолжаются (Esc)</translation>
    </message>
    <message>
        <source>Stop All Runs</source>
        <translation>Остановить все запуски</translation>
    </message>
    <message>
        <source>Stop every caption run; finished captions are kept</source>
        <translation>Остановить все запуски подписей; готовые подписи сохраняются</translation>
    </message>
    <message>
        <source>Previous File</source>
        <translation>Предыдущий файл</translation>
    </message>
    <message>
        <source>Next File</source>
        <translation>Следующий файл</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Выход</translation>
    </message>
    <message>
        <source>Larger Tiles</source>
        <translation>Крупнее плитки</translation>
    </message>
    <message>
        <source>Smaller Tiles</source>
        <translation>Мельче плитки</translation>
    </message>
    <message>
        <source>Opening…</source>
        <translation>Открытие…</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>Модели…</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Настройки</translation>
    </message>
    <message>
        <source>Live captions</source>
        <translation>Подписи в реальном времени</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>Проблемы</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Файл</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>&amp;Недавние</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>&amp;Правка</translation>
    </message>
    <message>
        <source>&amp;Caption</source>
        <translation>&amp;Подписи</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Вид</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>Главная</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Готово</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>Модель не загружена</translation>
    </message>
</context>
</TS>

<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AffixDialog</name>
    <message>
        <source>Add text to captions</source>
        <translation>向描述添加文本</translation>
    </message>
    <message>
        <source>e.g. a trigger word</source>
        <translation>例如触发词</translation>
    </message>
    <message>
        <source>Prepend</source>
        <translation>前置</translation>
    </message>
    <message>
        <source>Append</source>
        <translation>追加</translation>
    </message>
    <message>
        <source>Separator</source>
        <translation>分隔符</translation>
    </message>
    <message>
        <source> (%1 without a caption are left alone)</source>
        <translation>（%1 个没有描述的保持不变）</translation>
    </message>
    <message>
        <source>%1 of %2 selected captions will change%3.</source>
        <translation>所选 %2 条描述中有 %1 条将被修改%3。</translation>
    </message>
    <message numerus="yes">
        <source>Add text to %n caption(s)</source>
        <translation>
            <numerusform>向 %n 条描述添加文本</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>BoxOverlay</name>
    <message numerus="yes">
        <source>Boxes (%n)</source>
        <translation>
            <numerusform>框 (%n)</numerusform>
        </translation>
    </message>
    <message>
        <source>Show or hide the boxes found in the caption</source>
        <translation>显示或隐藏描述中找到的框</translation>
    </message>
    <message>
        <source>The box list was cut short: only complete boxes are drawn</source>
        <translation>框列表被截断：仅绘制完整的框</translation>
    </message>
</context>
<context>
    <name>CaptionPanel</name>
    <message>
        <source>cut at token limit</source>
        <translation>已达令牌上限被截断</translation>
    </message>
    <message>
        <source>The caption reached Max new tokens before it ended</source>
        <translation>描述在结束前达到了“最大新令牌数”</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>通过</translation>
    </message>
    <message>
        <source>Mark the selected captions as checked and good</source>
        <translation>将所选描述标记为已检查且合格</translation>
    </message>
    <message>
        <source>Flag</source>
        <translation>标记</translation>
    </message>
    <message>
        <source>Mark the selected captions as needing another look</source>
        <translation>将所选描述标记为需要再次查看</translation>
    </message>
    <message>
        <source>%1 (%2); click again to clear</source>
        <translation>%1（%2）；再次点击可清除</translation>
    </message>
    <message>
        <source>No caption yet. Press Ctrl+Enter to caption this file, or type one.</source>
        <translation>尚无描述。按 Ctrl+Enter 为此文件生成描述，或直接输入。</translation>
    </message>
    <message>
        <source>No file selected</source>
        <translation>未选择文件</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>失败：%1</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>位于 %1</translation>
    </message>
    <message>
        <source>%1 words · %2 characters</source>
        <translation>%1 个词 · %2 个字符</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>正在生成…</translation>
    </message>
    <message>
        <source>Editing…</source>
        <translation>正在编辑…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Select a file to see it here</source>
        <translation>选择文件后将在此显示</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Cannot show this file</source>
        <translation>无法显示此文件</translation>
    </message>
</context>
<context>
    <name>CompareDialog</name>
    <message>
        <source>Compare Images</source>
        <translation>比较图像</translation>
    </message>
    <message>
        <source>Differences</source>
        <translation>差异</translation>
    </message>
    <message>
        <source>Before / after</source>
        <translation>前 / 后</translation>
    </message>
    <message>
        <source>Consistent style?</source>
        <translation>风格一致吗？</translation>
    </message>
    <message>
        <source>Same character?</source>
        <translation>是同一角色吗？</translation>
    </message>
    <message>
        <source>Your own question</source>
        <translation>自定义问题</translation>
    </message>
    <message>
        <source>Ask anything about these images…</source>
        <translation>就这些图像提出任何问题…</translation>
    </message>
    <message>
        <source>The answer appears here as it is written.</source>
        <translation>回答生成时会显示在此处。</translation>
    </message>
    <message>
        <source>Ask</source>
        <translation>提问</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>New question</source>
        <translation>新问题</translation>
    </message>
    <message>
        <source>Ask another question about the selected images</source>
        <translation>就所选图像提出另一个问题</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Delete…</source>
        <translation>删除…</translation>
    </message>
    <message>
        <source>Delete the selected comparison from the folder&apos;s library</source>
        <translation>从文件夹的资料库中删除所选比较</translation>
    </message>
    <message>
        <source>Question</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Answer</source>
        <translation>回答</translation>
    </message>
    <message>
        <source>Past comparisons</source>
        <translation>以往的比较</translation>
    </message>
    <message numerus="yes">
        <source>%n image(s), sent to the model in this order</source>
        <translation>
            <numerusform>%n 张图像，按此顺序发送给模型</numerusform>
        </translation>
    </message>
    <message>
        <source>Cannot ask: %1</source>
        <translation>无法提问：%1</translation>
    </message>
    <message>
        <source>Cannot ask while a caption run uses another model or device: stop it or wait for it to end.</source>
        <translation>无法提问：正在运行的描述任务使用了其他模型或设备，请先停止它或等待其结束。</translation>
    </message>
    <message>
        <source>Waiting for the model…</source>
        <translation>正在等待模型…</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message numerus="yes">
        <source>Comparing %n image(s)…</source>
        <translation>
            <numerusform>正在比较 %n 张图像…</numerusform>
        </translation>
    </message>
    <message>
        <source>The comparison failed: %1</source>
        <translation>比较失败：%1</translation>
    </message>
    <message>
        <source>Stopped: nothing was stored.</source>
        <translation>已停止：未保存任何内容。</translation>
    </message>
    <message numerus="yes">
        <source>Saved with its %n image(s).</source>
        <translation>
            <numerusform>已连同 %n 张图像一起保存。</numerusform>
        </translation>
    </message>
    <message>
        <source>Could not save the comparison: %1</source>
        <translation>无法保存比较结果：%1</translation>
    </message>
    <message numerus="yes">
        <source>%1 · %n image(s)</source>
        <translation>
            <numerusform>%1 · %n 张图像</numerusform>
        </translation>
    </message>
    <message>
        <source>Delete Comparison</source>
        <translation>删除比较</translation>
    </message>
    <message>
        <source>Delete the comparison asked %1?</source>
        <translation>删除提问为 %1 的比较？</translation>
    </message>
    <message>
        <source>“%1”</source>
        <translation>“%1”</translation>
    </message>
    <message>
        <source>Its question and answer are removed from this folder&apos;s library; the images are not touched.</source>
        <translation>其问题和回答将从此文件夹的资料库中删除；图像不受影响。</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Comparison deleted.</source>
        <translation>比较已删除。</translation>
    </message>
    <message>
        <source>That comparison was already deleted.</source>
        <translation>该比较已被删除。</translation>
    </message>
    <message>
        <source>Could not delete the comparison: %1</source>
        <translation>无法删除比较：%1</translation>
    </message>
    <message numerus="yes">
        <source> · %n image(s) missing</source>
        <translation>
            <numerusform> · 缺少 %n 张图像</numerusform>
        </translation>
    </message>
    <message>
        <source>Asked %1 with %2</source>
        <translation>于 %1 使用 %2 提问</translation>
    </message>
</context>
<context>
    <name>DropHint</name>
    <message>
        <source>Drop a folder of images or videos here</source>
        <translation>将图像或视频文件夹拖放到此处</translation>
    </message>
    <message>
        <source>Caption Studio shows every image and video at once, writes a caption for each with Qwen3-VL,
and saves it beside the original as a .txt file you can edit.</source>
        <translation>Caption Studio 一次显示所有图像和视频，用 Qwen3-VL 为每个文件撰写描述，
并将其保存为原文件旁可编辑的 .txt 文件。</translation>
    </message>
    <message>
        <source>Open Folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <source>or press Ctrl+O  ·  JPG, PNG, WebP, GIF, BMP, TIFF and videos</source>
        <translation>或按 Ctrl+O  ·  JPG、PNG、WebP、GIF、BMP、TIFF 及视频</translation>
    </message>
    <message>
        <source>RECENT</source>
        <translation>最近</translation>
    </message>
</context>
<context>
    <name>DropOverlay</name>
    <message>
        <source>Drop to open</source>
        <translation>松开以打开</translation>
    </message>
</context>
<context>
    <name>EditControllerMixin</name>
    <message>
        <source>Saved</source>
        <translation>已保存</translation>
    </message>
    <message>
        <source>Approved %1 file(s)</source>
        <translation>已通过 %1 个文件</translation>
    </message>
    <message>
        <source>Flagged %1 file(s)</source>
        <translation>已标记 %1 个文件</translation>
    </message>
    <message>
        <source>Cleared the mark of %1 file(s)</source>
        <translation>已清除 %1 个文件的标记</translation>
    </message>
    <message>
        <source>Nothing to redo</source>
        <translation>没有可重做的操作</translation>
    </message>
    <message>
        <source>Nothing to undo</source>
        <translation>没有可撤销的操作</translation>
    </message>
    <message>
        <source>Redone</source>
        <translation>已重做</translation>
    </message>
    <message>
        <source>Undone</source>
        <translation>已撤销</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>; %1 changed since and left alone</source>
        <translation>；%1 条此后已被修改，保持不变</translation>
    </message>
    <message>
        <source>%1: %2%3. Ctrl+Z / Ctrl+Y to undo or redo.</source>
        <translation>%1：%2%3。按 Ctrl+Z / Ctrl+Y 撤销或重做。</translation>
    </message>
    <message>
        <source>Select the files to change first (Ctrl+A selects all)</source>
        <translation>请先选择要修改的文件（Ctrl+A 全选）</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Text sidecars</source>
        <translation>旁挂文本文件</translation>
    </message>
    <message>
        <source>One caption file beside each file (photo.jpg → photo.txt), as kohya, OneTrainer and taggui read them.</source>
        <translation>每个文件旁一个描述文件（photo.jpg → photo.txt），kohya、OneTrainer 和 taggui 均可读取。</translation>
    </message>
    <message>
        <source>One captions.jsonl, a JSON object per line: path, caption, variants, status, model, prompt, seed.</source>
        <translation>一个 captions.jsonl，每行一个 JSON 对象：路径、描述、变体、状态、模型、提示词、种子。</translation>
    </message>
    <message>
        <source>One captions.json holding a list of the same objects as JSON Lines.</source>
        <translation>一个 captions.json，包含与 JSON Lines 相同对象的列表。</translation>
    </message>
    <message>
        <source>One captions.csv for spreadsheets: a row per file, variants JSON-encoded in one column.</source>
        <translation>一个用于电子表格的 captions.csv：每个文件一行，变体以 JSON 编码放在一列中。</translation>
    </message>
    <message>
        <source>metadata.jsonl with file_name and text, for datasets&apos; imagefolder; it belongs at the folder root (images only).</source>
        <translation>含 file_name 和 text 的 metadata.jsonl，供 datasets 的 imagefolder 使用；需放在文件夹根目录（仅图像）。</translation>
    </message>
    <message>
        <source>XMP sidecars</source>
        <translation>旁挂 XMP 文件</translation>
    </message>
    <message>
        <source>photo.jpg.xmp with the caption as dc:description, for Lightroom, digiKam, darktable; other fields of an existing file are kept.</source>
        <translation>photo.jpg.xmp，描述写入 dc:description，供 Lightroom、digiKam、darktable 使用；已有文件的其他字段会保留。</translation>
    </message>
    <message>
        <source>Comparisons (JSON)</source>
        <translation>比较结果 (JSON)</translation>
    </message>
    <message>
        <source>One comparisons.json with every multi-image comparison: question, images (in order), answer, model, time.</source>
        <translation>一个 comparisons.json，包含每次多图比较：问题、图像（按顺序）、回答、模型、时间。</translation>
    </message>
    <message>
        <source>First variant only</source>
        <translation>仅第一个变体</translation>
    </message>
    <message>
        <source>All variants, a blank line between them</source>
        <translation>所有变体，以空行分隔</translation>
    </message>
    <message>
        <source>One file per variant (photo.1.txt, photo.2.txt, …)</source>
        <translation>每个变体一个文件（photo.1.txt、photo.2.txt、…）</translation>
    </message>
    <message>
        <source>Export failed: %1</source>
        <translation>导出失败：%1</translation>
    </message>
    <message>
        <source>Export captions</source>
        <translation>导出描述</translation>
    </message>
    <message>
        <source>What and where</source>
        <translation>内容与位置</translation>
    </message>
    <message>
        <source>Files:</source>
        <translation>文件：</translation>
    </message>
    <message>
        <source>Format:</source>
        <translation>格式：</translation>
    </message>
    <message>
        <source>Write to:</source>
        <translation>写入到：</translation>
    </message>
    <message>
        <source>Skip files that already exist</source>
        <translation>跳过已存在的文件</translation>
    </message>
    <message>
        <source>Variants:</source>
        <translation>变体：</translation>
    </message>
    <message>
        <source>Sidecar extension:</source>
        <translation>旁挂文件扩展名：</translation>
    </message>
    <message>
        <source>Only missing:</source>
        <translation>仅缺失的：</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Nothing exported yet.</source>
        <translation>尚未导出任何内容。</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>All %1 captioned files</source>
        <translation>全部 %1 个已有描述的文件</translation>
    </message>
    <message>
        <source>The %1 captioned of %2 selected</source>
        <translation>所选 %2 个中已有描述的 %1 个</translation>
    </message>
    <message>
        <source>This folder:</source>
        <translation>此文件夹：</translation>
    </message>
    <message>
        <source>Choose a folder…</source>
        <translation>选择文件夹…</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Beside the files</source>
        <translation>原文件旁</translation>
    </message>
    <message>
        <source>The media folder (%1 at its root)</source>
        <translation>媒体文件夹（%1 位于其根目录）</translation>
    </message>
    <message>
        <source>Export into folder</source>
        <translation>导出到文件夹</translation>
    </message>
    <message>
        <source>Exporting…</source>
        <translation>正在导出…</translation>
    </message>
    <message>
        <source>%1 written, %2 skipped, %3 failed.</source>
        <translation>已写入 %1，已跳过 %2，失败 %3。</translation>
    </message>
    <message>
        <source>Wrote %1</source>
        <translation>已写入 %1</translation>
    </message>
    <message>
        <source>Into %1</source>
        <translation>写入 %1</translation>
    </message>
    <message>
        <source>Beside the files in %1</source>
        <translation>位于 %1 中的文件旁</translation>
    </message>
    <message>
        <source>Exporting… the dialog closes once the export has ended.</source>
        <translation>正在导出…导出结束后对话框将关闭。</translation>
    </message>
</context>
<context>
    <name>FindReplaceDialog</name>
    <message>
        <source>Find and replace</source>
        <translation>查找和替换</translation>
    </message>
    <message>
        <source>Text or regular expression</source>
        <translation>文本或正则表达式</translation>
    </message>
    <message>
        <source>Replacement (\1 for groups in regex mode)</source>
        <translation>替换为（正则模式下用 \1 引用分组）</translation>
    </message>
    <message>
        <source>Regular expression</source>
        <translation>正则表达式</translation>
    </message>
    <message>
        <source>Match case</source>
        <translation>区分大小写</translation>
    </message>
    <message>
        <source>Whole words</source>
        <translation>全词匹配</translation>
    </message>
    <message>
        <source>All captions in the folder</source>
        <translation>文件夹中的所有描述</translation>
    </message>
    <message>
        <source>Selected files only</source>
        <translation>仅所选文件</translation>
    </message>
    <message>
        <source>A preview of the first changes appears here.</source>
        <translation>此处将预览前几处更改。</translation>
    </message>
    <message>
        <source>Replace all</source>
        <translation>全部替换</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <source>Replace with</source>
        <translation>替换为</translation>
    </message>
    <message numerus="yes">
        <source>%n match(es) in %1</source>
        <translation>
            <numerusform>%1 中有 %n 处匹配</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s)</source>
        <translation>
            <numerusform>%n 条描述</numerusform>
        </translation>
    </message>
    <message>
        <source>… and %1 more</source>
        <translation>… 另有 %1 处</translation>
    </message>
    <message numerus="yes">
        <source>Replace “%1” in %n caption(s)</source>
        <translation>
            <numerusform>在 %n 条描述中替换“%1”</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FirstRun</name>
    <message>
        <source>No GPU found: captioning runs on the CPU and will be slow. %1 (the 2B model) is the one to use on a CPU.</source>
        <translation>未找到 GPU：将在 CPU 上生成描述，速度较慢。CPU 上推荐使用 %1（2B 模型）。</translation>
    </message>
    <message>
        <source>No model is downloaded yet: choose one in Models and press Download (%1 is the smallest).</source>
        <translation>尚未下载任何模型：请在“模型”中选择一个并点击“下载”（%1 最小）。</translation>
    </message>
    <message>
        <source>No network, and no Qwen3-VL model is in the Hugging Face cache: connect to the internet to download one, or choose a local checkpoint folder in Models.</source>
        <translation>没有网络，Hugging Face 缓存中也没有 Qwen3-VL 模型：请联网下载，或在“模型”中选择本地检查点文件夹。</translation>
    </message>
</context>
<context>
    <name>FolderControllerMixin</name>
    <message>
        <source>No recent folders</source>
        <translation>没有最近的文件夹</translation>
    </message>
    <message>
        <source>Clear Recent Folders</source>
        <translation>清除最近的文件夹</translation>
    </message>
    <message>
        <source>Open a folder of images and videos</source>
        <translation>打开图像和视频文件夹</translation>
    </message>
    <message>
        <source>“%1” is not a folder (or no longer exists).</source>
        <translation>“%1”不是文件夹（或已不存在）。</translation>
    </message>
    <message>
        <source>Opening %1…</source>
        <translation>正在打开 %1…</translation>
    </message>
    <message>
        <source>Scanning %1</source>
        <translation>正在扫描 %1</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Could not open %1: %2</source>
        <translation>无法打开 %1：%2</translation>
    </message>
    <message>
        <source>Opened %1; the other %2 folder(s) are in File › Open Recent</source>
        <translation>已打开 %1；其余 %2 个文件夹在“文件 › 最近打开”中</translation>
    </message>
</context>
<context>
    <name>GridControllerMixin</name>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>To do</source>
        <translation>待处理</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Edited</source>
        <translation>已编辑</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Cut</source>
        <translation>截断</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <source>Flagged</source>
        <translation>已标记</translation>
    </message>
    <message>
        <source>Filter: words, tag:x, status:edited, tokens:&gt;77…  (Ctrl+F)</source>
        <translation>筛选：词语、tag:x、status:edited、tokens:&gt;77…  (Ctrl+F)</translation>
    </message>
    <message>
        <source>Sort order</source>
        <translation>排序方式</translation>
    </message>
    <message>
        <source>Sort by name</source>
        <translation>按名称排序</translation>
    </message>
    <message>
        <source>Newest first</source>
        <translation>最新优先</translation>
    </message>
    <message>
        <source>Oldest first</source>
        <translation>最旧优先</translation>
    </message>
    <message>
        <source>Tile size (Ctrl+wheel)</source>
        <translation>缩略图大小（Ctrl+滚轮）</translation>
    </message>
    <message>
        <source>%1 selected</source>
        <translation>已选择 %1 项</translation>
    </message>
    <message>
        <source>%1 file(s) · %2 captioned</source>
        <translation>%1 个文件 · %2 个有描述</translation>
    </message>
</context>
<context>
    <name>LanguageChooser</name>
    <message>
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>The language changes the next time Caption Studio starts.</source>
        <translation>语言将在下次启动 Caption Studio 时更改。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
<context>
    <name>LiveCard</name>
    <message>
        <source>failed</source>
        <extracomment>Control characters (a random model emits them) shown as spaces; newlines kept.</extracomment>
        <translation>失败</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
    <message numerus="yes">
        <source>%n word(s)</source>
        <translation>
            <numerusform>%n 个词</numerusform>
        </translation>
    </message>
    <message>
        <source>thinking: </source>
        <translation>思考中：</translation>
    </message>
    <message>
        <source>thinking</source>
        <translation>思考中</translation>
    </message>
</context>
<context>
    <name>LivePanel</name>
    <message>
        <source>Captions appear here as they are written, several at a time.</source>
        <translation>描述生成时会显示在此处，可同时显示多条。</translation>
    </message>
    <message>
        <source>Nothing is being captioned</source>
        <translation>当前没有正在生成的描述</translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s) in flight  ·  %1 finished in these runs</source>
        <translation>
            <numerusform>正在生成 %n 条描述  ·  这些运行已完成 %1 条</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n caption(s) in flight  ·  %1 finished this run</source>
        <translation>
            <numerusform>正在生成 %n 条描述  ·  本次已完成 %1 条</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LogPanel</name>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>No problems so far.</source>
        <translation>目前没有问题。</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message numerus="yes">
        <source>%n problem(s) · double-click a row to show its file</source>
        <translation>
            <numerusform>%n 个问题 · 双击某行可显示其文件</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Undo Batch Edit</source>
        <translation>撤销批量编辑</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo Batch Edit</source>
        <translation>重做批量编辑</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>模型…</translation>
    </message>
    <message>
        <source>Export is not available in this build (%1).</source>
        <translation>此版本不支持导出（%1）。</translation>
    </message>
    <message>
        <source>The model manager is not available in this build (%1).</source>
        <translation>此版本不提供模型管理器（%1）。</translation>
    </message>
    <message>
        <source>Stop the run before unloading the model</source>
        <translation>请先停止运行再卸载模型</translation>
    </message>
    <message>
        <source>Problems (%1)</source>
        <translation>问题（%1）</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>RAM %1 GB</source>
        <translation>内存 %1 GB</translation>
    </message>
    <message>
        <source>VRAM %1 / %2 GB</source>
        <translation>显存 %1 / %2 GB</translation>
    </message>
</context>
<context>
    <name>MediaListModel</name>
    <message>
        <source>Status: %1</source>
        <extracomment>Every status a tile can show: the library&apos;s four plus the run&apos;s transient two. Named status filters of the proxy; &quot;truncated&quot; filters on the flag, and the review filters on the user&apos;s mark (see `REVIEW_FILTERS`), not on a status. The status filters that show one review mark (the library&apos;s `Review` values). How long streamed text may wait before the views hear of it (STYLE: 30-50 ms flushes).</extracomment>
        <translation>状态：%1</translation>
    </message>
    <message>
        <source>Caption cut at the token limit</source>
        <translation>描述在令牌上限处被截断</translation>
    </message>
    <message>
        <source>Failure: %1</source>
        <translation>失败原因：%1</translation>
    </message>
    <message>
        <source>Review: %1</source>
        <translation>审核：%1</translation>
    </message>
    <message>
        <source>No caption: the reasoning did not finish within Max new tokens. Raise Max new tokens and caption it again.</source>
        <translation>无描述：推理未能在“最大新令牌数”内完成。请调高“最大新令牌数”后重新生成描述。</translation>
    </message>
    <message>
        <source>No caption: the model answered with no text. Try another prompt, seed or temperature.</source>
        <translation>无描述：模型没有返回任何文本。请尝试其他提示词、随机种子或温度。</translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>bf16 weights</source>
        <translation>bf16 权重</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>In cache</source>
        <translation>已缓存</translation>
    </message>
    <message>
        <source>VRAM (rough)</source>
        <translation>显存（估算）</translation>
    </message>
    <message>
        <source>Download of %1 failed: %2</source>
        <translation>下载 %1 失败：%2</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>取消下载</translation>
    </message>
    <message>
        <source>Choose local folder…</source>
        <translation>选择本地文件夹…</translation>
    </message>
    <message>
        <source>Unload model</source>
        <translation>卸载模型</translation>
    </message>
    <message>
        <source>Use selected</source>
        <translation>使用所选</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Local: %1</source>
        <translation>本地：%1</translation>
    </message>
    <message>
        <source>Thinking</source>
        <translation>Thinking（推理）</translation>
    </message>
    <message>
        <source>Instruct</source>
        <translation>Instruct</translation>
    </message>
    <message>
        <source>bf16 ≈ %1 GB, 4-bit ≈ %2 GB, plus images and batch</source>
        <translation>bf16 ≈ %1 GB，4 位 ≈ %2 GB，另加图像和批次占用</translation>
    </message>
    <message>
        <source>local folder</source>
        <translation>本地文件夹</translation>
    </message>
    <message>
        <source>%1  (loaded)</source>
        <translation>%1  （已加载）</translation>
    </message>
    <message>
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <source>yes, %1</source>
        <translation>是，%1</translation>
    </message>
    <message>
        <source>partial, %1</source>
        <translation>部分，%1</translation>
    </message>
    <message>
        <source>No network: no Qwen3-VL model is in the Hugging Face cache (%1). Choose a local checkpoint folder, or download a model on a connected machine.</source>
        <translation>没有网络：Hugging Face 缓存（%1）中没有 Qwen3-VL 模型。请选择本地检查点文件夹，或在联网的电脑上下载模型。</translation>
    </message>
    <message>
        <source>%1 ready in the cache</source>
        <translation>缓存中有 %1 个可用</translation>
    </message>
    <message>
        <source>none in the cache yet</source>
        <translation>缓存中尚无</translation>
    </message>
    <message>
        <source>Offline: downloads are off. </source>
        <translation>离线：下载已关闭。</translation>
    </message>
    <message>
        <source>Qwen3-VL models: %1 (%2).</source>
        <translation>Qwen3-VL 模型：%1（%2）。</translation>
    </message>
    <message>
        <source>No network: %1 is not in the cache and cannot be downloaded now; %2.</source>
        <translation>没有网络：%1 不在缓存中，目前无法下载；%2。</translation>
    </message>
    <message>
        <source>Chosen: %1</source>
        <translation>已选择：%1</translation>
    </message>
    <message>
        <source>Unloading the model…</source>
        <translation>正在卸载模型…</translation>
    </message>
    <message>
        <source>Choose a Qwen3-VL checkpoint folder</source>
        <translation>选择 Qwen3-VL 检查点文件夹</translation>
    </message>
    <message>
        <source>Not a usable checkpoint: %1</source>
        <translation>不可用的检查点：%1</translation>
    </message>
    <message>
        <source>Local checkpoint %1 is ready: press Use selected.</source>
        <translation>本地检查点 %1 已就绪：请点击“使用所选”。</translation>
    </message>
    <message>
        <source>Downloading %1: listing files…</source>
        <translation>正在下载 %1：正在列出文件…</translation>
    </message>
    <message>
        <source>Cancel stops within a chunk; files already finished stay in the cache.</source>
        <translation>取消会在当前分块内生效；已下载完成的文件保留在缓存中。</translation>
    </message>
    <message>
        <source>Cancelling the download…</source>
        <translation>正在取消下载…</translation>
    </message>
    <message>
        <source>Downloading %1: %2 of %3 — %4</source>
        <translation>正在下载 %1：%2 / %3 — %4</translation>
    </message>
    <message>
        <source>Downloaded %1 to %2.</source>
        <translation>已将 %1 下载到 %2。</translation>
    </message>
    <message>
        <source>Download of %1 cancelled; the files it finished stay in the cache and are not fetched again.</source>
        <translation>已取消下载 %1；已完成的文件保留在缓存中，不会重复下载。</translation>
    </message>
</context>
<context>
    <name>PromptComposer</name>
    <message>
        <source>Word count…</source>
        <extracomment>The RunSettings fields the composer owns.</extracomment>
        <translation>字数…</translation>
    </message>
    <message>
        <source> words</source>
        <translation> 词</translation>
    </message>
    <message>
        <source>The prompt is written in this language, so the model answers in it</source>
        <translation>提示词以此语言书写，因此模型也用此语言回答</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Length</source>
        <translation>长度</translation>
    </message>
    <message>
        <source>Caption in</source>
        <translation>描述语言</translation>
    </message>
    <message>
        <source>What should the model write?</source>
        <translation>希望模型写些什么？</translation>
    </message>
    <message>
        <source>Insert: %1</source>
        <translation>插入：%1</translation>
    </message>
    <message>
        <source>System prompt (optional)</source>
        <translation>系统提示词（可选）</translation>
    </message>
    <message>
        <source>Your saved presets</source>
        <translation>您保存的预设</translation>
    </message>
    <message>
        <source>Save…</source>
        <translation>保存…</translation>
    </message>
    <message>
        <source>Save these choices as a preset</source>
        <translation>将这些选项保存为预设</translation>
    </message>
    <message>
        <source>Rename, delete, export or import presets</source>
        <translation>重命名、删除、导出或导入预设</translation>
    </message>
    <message>
        <source>Rename preset…</source>
        <translation>重命名预设…</translation>
    </message>
    <message>
        <source>Delete preset…</source>
        <translation>删除预设…</translation>
    </message>
    <message>
        <source>Export presets…</source>
        <translation>导出预设…</translation>
    </message>
    <message>
        <source>Import presets…</source>
        <translation>导入预设…</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>Reset to composed</source>
        <translation>恢复为组合提示词</translation>
    </message>
    <message>
        <source>Throw away your edits and use the composed prompt</source>
        <translation>放弃您的修改，使用组合生成的提示词</translation>
    </message>
    <message>
        <source>No saved preset</source>
        <translation>没有保存的预设</translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation>未保存：%1</translation>
    </message>
    <message>
        <source>Saved preset “%1”.</source>
        <translation>已保存预设“%1”。</translation>
    </message>
    <message>
        <source>Not renamed: %1</source>
        <translation>未重命名：%1</translation>
    </message>
    <message>
        <source>Renamed to “%1”.</source>
        <translation>已重命名为“%1”。</translation>
    </message>
    <message>
        <source>Not deleted: %1</source>
        <translation>未删除：%1</translation>
    </message>
    <message>
        <source>Deleted preset “%1”.</source>
        <translation>已删除预设“%1”。</translation>
    </message>
    <message>
        <source>Not exported: %1</source>
        <translation>未导出：%1</translation>
    </message>
    <message>
        <source>Exported %1 presets to %2.</source>
        <translation>已将 %1 个预设导出到 %2。</translation>
    </message>
    <message>
        <source>Not imported: %1</source>
        <translation>未导入：%1</translation>
    </message>
    <message>
        <source>Imported %1 presets: %2</source>
        <translation>已导入 %1 个预设：%2</translation>
    </message>
    <message>
        <source>This type ignores the length</source>
        <translation>此类型忽略长度</translation>
    </message>
    <message>
        <source>Custom prompt (edited)</source>
        <translation>自定义提示词（已编辑）</translation>
    </message>
    <message>
        <source>Prompt (composed)</source>
        <translation>提示词（组合生成）</translation>
    </message>
    <message>
        <source>Save preset</source>
        <translation>保存预设</translation>
    </message>
    <message>
        <source>Preset name:</source>
        <translation>预设名称：</translation>
    </message>
    <message>
        <source>Replace the preset “%1”?</source>
        <translation>替换预设“%1”？</translation>
    </message>
    <message>
        <source>Rename preset</source>
        <translation>重命名预设</translation>
    </message>
    <message>
        <source>New name:</source>
        <translation>新名称：</translation>
    </message>
    <message>
        <source>Delete preset</source>
        <translation>删除预设</translation>
    </message>
    <message>
        <source>Delete the preset “%1”?</source>
        <translation>删除预设“%1”？</translation>
    </message>
    <message>
        <source>Export presets</source>
        <translation>导出预设</translation>
    </message>
    <message>
        <source>Presets (*.json)</source>
        <translation>预设 (*.json)</translation>
    </message>
    <message>
        <source>Import presets</source>
        <translation>导入预设</translation>
    </message>
    <message>
        <source>Presets (*.json);;All files (*)</source>
        <translation>预设 (*.json);;所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>RunChip</name>
    <message>
        <source>Stop this run (the others go on)</source>
        <translation>停止此次运行（其他运行继续）</translation>
    </message>
</context>
<context>
    <name>RunControllerMixin</name>
    <message>
        <source>Loading model</source>
        <translation>正在加载模型</translation>
    </message>
    <message>
        <source>Model ready</source>
        <translation>模型就绪</translation>
    </message>
    <message>
        <source>Warming up</source>
        <translation>正在预热</translation>
    </message>
    <message>
        <source>Captioning</source>
        <translation>正在生成描述</translation>
    </message>
    <message>
        <source>Downloading</source>
        <translation>正在下载</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Cannot caption: %1</source>
        <translation>无法生成描述：%1</translation>
    </message>
    <message>
        <source>Preparing…</source>
        <translation>正在准备…</translation>
    </message>
    <message>
        <source>Select files first (Ctrl+A selects all)</source>
        <translation>请先选择文件（Ctrl+A 全选）</translation>
    </message>
    <message>
        <source>Cannot caption with %1 while a run with another model or device is going: stop it (Esc) or wait for it to end.</source>
        <translation>使用其他模型或设备的运行正在进行，无法用 %1 生成描述：请先停止它（Esc）或等待其结束。</translation>
    </message>
    <message>
        <source>Another caption run is working on this folder (%1): wait for it to end, then caption again.</source>
        <translation>另一个字幕运行正在处理此文件夹（%1）：请等待它结束后再生成字幕。</translation>
    </message>
    <message>
        <source>%1 file(s) already queued in another run were left out of this one</source>
        <translation>%1 个文件已在另一次运行的队列中，本次运行不再包含</translation>
    </message>
    <message>
        <source>Nothing to caption: the %1 file(s) are already queued in a run that is going.</source>
        <translation>没有需要生成描述的文件：这 %1 个文件已在正在进行的运行队列中。</translation>
    </message>
    <message>
        <source>Checking the decode loop</source>
        <translation>正在检查解码循环</translation>
    </message>
    <message>
        <source>Nothing to caption: every selected file is already captioned or edited.</source>
        <translation>没有需要生成描述的文件：所选文件都已有描述或已编辑。</translation>
    </message>
    <message>
        <source>Nothing to caption: every file is already captioned or edited.</source>
        <translation>没有需要生成描述的文件：所有文件都已有描述或已编辑。</translation>
    </message>
    <message>
        <source>Choose “Overwrite” under Run settings to caption them again.</source>
        <translation>在“运行”设置中选择“全部覆盖”即可重新生成描述。</translation>
    </message>
    <message>
        <source>Cannot start: %1</source>
        <translation>无法开始：%1</translation>
    </message>
    <message>
        <source>Selected</source>
        <translation>所选</translation>
    </message>
    <message>
        <source>All</source>
        <translation>全部</translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>Run %1 · %2 · %3</source>
        <translation>运行 %1 · %2 · %3</translation>
    </message>
    <message>
        <source>%1 file(s) of %2 · Stop stops this run only</source>
        <translation>%2 中的 %1 个文件 · “停止”只停止此次运行</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>%1: %2 runs, %3 files</source>
        <translation>%1：%2 次运行，%3 个文件</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>Captions with transformers&apos; generate(), batch by batch (slower): %1</source>
        <translation>使用 transformers 的 generate() 逐批生成描述（较慢）：%1</translation>
    </message>
    <message>
        <source>chosen in the settings</source>
        <translation>在设置中选择</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
    <message>
        <source>The model could not be loaded. %1</source>
        <translation>无法加载模型。%1</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <source> · %1 failed</source>
        <translation> · %1 个失败</translation>
    </message>
    <message>
        <source>%1 files/s</source>
        <translation>%1 个/秒</translation>
    </message>
    <message>
        <source>%1: %2 file(s)</source>
        <translation>%1：%2 个文件</translation>
    </message>
    <message>
        <source>%1 · %2 left</source>
        <translation>%1 · 剩余 %2</translation>
    </message>
    <message>
        <source>Captioning with generate() instead of the decode loop (slower): %1</source>
        <translation>使用 generate() 而非解码循环生成描述（较慢）：%1</translation>
    </message>
    <message>
        <source>continuous</source>
        <translation>连续批处理</translation>
    </message>
    <message>
        <source>Continuous batching: captions decode together in one loop; a free slot takes the next file at once</source>
        <translation>连续批处理：描述在同一个循环中一起解码；空闲的槽位会立即处理下一个文件</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>Captioning stopped: %1</source>
        <translation>描述生成已停止：%1</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>SettingsPanel</name>
    <message>
        <source>Skip captioned and edited</source>
        <translation>跳过已有描述和已编辑的</translation>
    </message>
    <message>
        <source>Skip edited only (redo generated)</source>
        <translation>仅跳过已编辑的（重新生成已生成的）</translation>
    </message>
    <message>
        <source>Overwrite everything</source>
        <translation>全部覆盖</translation>
    </message>
    <message>
        <source>No cap · tokens grow with each image&apos;s size</source>
        <extracomment>Longest-side choices of the image resolution cap; 0 means no cap.</extracomment>
        <translation>不设上限 · 令牌数随图像尺寸增长</translation>
    </message>
    <message>
        <source>%1 × %1 px · ≈ %2 visual tokens</source>
        <translation>%1 × %1 像素 · ≈ %2 个视觉令牌</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Generation</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Video</source>
        <translation>视频</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>界面</translation>
    </message>
    <message>
        <source>A known model, a Hugging Face repo id or a local folder</source>
        <translation>已知模型、Hugging Face 仓库 ID 或本地文件夹</translation>
    </message>
    <message>
        <source>Use a local checkpoint folder…</source>
        <translation>使用本地检查点文件夹…</translation>
    </message>
    <message>
        <source>4/8-bit (bitsandbytes, CUDA) saves memory; it is not faster</source>
        <translation>4/8 位（bitsandbytes，CUDA）可节省显存，但不会更快</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Precision</source>
        <translation>精度</translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation>量化</translation>
    </message>
    <message>
        <source>Local</source>
        <translation>本地</translation>
    </message>
    <message>
        <source>Remote (OpenAI-compatible)</source>
        <translation>远程（兼容 OpenAI）</translation>
    </message>
    <message>
        <source>Comma-separated server URLs (vLLM, SGLang, LM Studio, Ollama, caption-studio serve); the API key comes from CAPTION_STUDIO_API_KEY or the OS keyring</source>
        <translation>以逗号分隔的服务器 URL（vLLM、SGLang、LM Studio、Ollama、caption-studio serve）；API 密钥取自 CAPTION_STUDIO_API_KEY 或系统密钥环</translation>
    </message>
    <message>
        <source>first served</source>
        <translation>第一个可用的</translation>
    </message>
    <message>
        <source>Backend</source>
        <translation>后端</translation>
    </message>
    <message>
        <source>Endpoints</source>
        <translation>端点</translation>
    </message>
    <message>
        <source>Served model</source>
        <translation>服务端模型</translation>
    </message>
    <message>
        <source>Concurrency</source>
        <translation>并发数</translation>
    </message>
    <message>
        <source>Manage models…</source>
        <translation>管理模型…</translation>
    </message>
    <message>
        <source>Greedy (0)</source>
        <translation>贪婪 (0)</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Captions generated at once; Auto fits the batch to free memory</source>
        <translation>同时生成的描述数；“自动”会根据可用显存调整批次</translation>
    </message>
    <message>
        <source>Max new tokens</source>
        <translation>最大新令牌数</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>温度</translation>
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
        <translation>随机种子</translation>
    </message>
    <message>
        <source>Variants</source>
        <translation>变体数</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批次大小</translation>
    </message>
    <message>
        <source>Resolution cap</source>
        <translation>分辨率上限</translation>
    </message>
    <message>
        <source>Include subfolders</source>
        <translation>包含子文件夹</translation>
    </message>
    <message>
        <source>When captioning</source>
        <translation>生成描述时</translation>
    </message>
    <message>
        <source>Caption files</source>
        <translation>描述文件</translation>
    </message>
    <message>
        <source>Choose a Qwen3-VL checkpoint folder</source>
        <translation>选择 Qwen3-VL 检查点文件夹</translation>
    </message>
</context>
<context>
    <name>TagController</name>
    <message>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Select the files to change first</source>
        <translation>请先选择要修改的文件</translation>
    </message>
    <message>
        <source>No caption changes</source>
        <translation>描述没有变化</translation>
    </message>
</context>
<context>
    <name>TagCountModel</name>
    <message numerus="yes">
        <source>%n caption(s) have “%1”</source>
        <translation>
            <numerusform>%n 条描述含有“%1”</numerusform>
        </translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Count</source>
        <translation>数量</translation>
    </message>
</context>
<context>
    <name>TagEditor</name>
    <message>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Show the caption as a list of tags too</source>
        <translation>同时以标签列表显示描述</translation>
    </message>
    <message>
        <source>Add a tag…</source>
        <translation>添加标签…</translation>
    </message>
    <message>
        <source>Remove the selected tags (Delete)</source>
        <translation>删除所选标签（Delete）</translation>
    </message>
    <message>
        <source>Move the selected tag earlier</source>
        <translation>将所选标签前移</translation>
    </message>
    <message>
        <source>Move the selected tag later</source>
        <translation>将所选标签后移</translation>
    </message>
    <message>
        <source>A sentence: tag edits leave it as it is (edit it in the text)</source>
        <translation>这是一个句子：编辑标签不会改动它（请在文本中编辑）</translation>
    </message>
</context>
<context>
    <name>TagPanel</name>
    <message>
        <source>Search tags</source>
        <translation>搜索标签</translation>
    </message>
    <message>
        <source>What separates tags in a caption</source>
        <translation>描述中标签之间的分隔符</translation>
    </message>
    <message>
        <source>Separator</source>
        <translation>分隔符</translation>
    </message>
    <message>
        <source>Counting tags…</source>
        <translation>正在统计标签…</translation>
    </message>
    <message>
        <source>%1 tags · %2 uses</source>
        <translation>%1 个标签 · 共使用 %2 次</translation>
    </message>
    <message>
        <source>No tags yet</source>
        <translation>暂无标签</translation>
    </message>
    <message>
        <source>in the folder</source>
        <translation>（在整个文件夹中）</translation>
    </message>
    <message>
        <source>Selected files only</source>
        <translation>仅所选文件</translation>
    </message>
    <message>
        <source>Rename, delete, move and de-duplicate in the selected files only (else in the whole folder)</source>
        <translation>仅在所选文件中重命名、删除、移动和去重（否则作用于整个文件夹）</translation>
    </message>
    <message>
        <source>Click: show files with this tag · Double-click: add it to the selected captions · Right-click: rename, delete, move to front</source>
        <translation>单击：显示含此标签的文件 · 双击：添加到所选描述 · 右键：重命名、删除、移到最前</translation>
    </message>
    <message>
        <source>in the selected files</source>
        <translation>（在所选文件中）</translation>
    </message>
    <message>
        <source>Show files with “%1”</source>
        <translation>显示含“%1”的文件</translation>
    </message>
    <message>
        <source>Add “%1” to the selected captions</source>
        <translation>将“%1”添加到所选描述</translation>
    </message>
    <message>
        <source>Add “%1” at the front of the selected captions</source>
        <translation>将“%1”添加到所选描述的开头</translation>
    </message>
    <message>
        <source>Rename “%1” %2…</source>
        <translation>重命名“%1”%2…</translation>
    </message>
    <message>
        <source>Delete “%1” %2</source>
        <translation>删除“%1”%2</translation>
    </message>
    <message>
        <source>Move “%1” to the front %2</source>
        <translation>将“%1”移到最前%2</translation>
    </message>
    <message>
        <source>Remove duplicate tags %1</source>
        <translation>删除重复标签%1</translation>
    </message>
    <message>
        <source>Rename tag</source>
        <translation>重命名标签</translation>
    </message>
    <message>
        <source>New name for “%1”</source>
        <translation>“%1”的新名称</translation>
    </message>
</context>
<context>
    <name>ThumbnailLoader</name>
    <message>
        <source>Cannot show: {reason}</source>
        <extracomment>Longest edge of a thumbnail in pixels (tiles scale it down to fit). Bumped when the cached thumbnail format changes, so old files are never read.</extracomment>
        <translation>无法显示：{reason}</translation>
    </message>
</context>
<context>
    <name>TileDelegate</name>
    <message>
        <source>pending</source>
        <extracomment>Badge colour and label of each status (the label is painted too: never colour alone).</extracomment>
        <translation>待处理</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>generating</source>
        <translation>生成中</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>edited</source>
        <translation>已编辑</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>cut</source>
        <extracomment>Mark colour and glyph of each review mark, painted in the thumbnail&apos;s bottom-right corner.</extracomment>
        <translation>截断</translation>
    </message>
    <message>
        <source>generating…</source>
        <translation>生成中…</translation>
    </message>
    <message>
        <source>unfinished</source>
        <translation>未完成</translation>
    </message>
    <message>
        <source>no text</source>
        <translation>无文本</translation>
    </message>
</context>
<context>
    <name>TokenCounter</name>
    <message>
        <source>CLIP ViT-L/14 tokens, the start and end tokens included: {fit} tokens of text fit in CLIP&apos;s {limit}.</source>
        <extracomment>Coalesces counting while text streams in or the user types.</extracomment>
        <translation>CLIP ViT-L/14 令牌数（含起始和结束令牌）：CLIP 的 {limit} 个令牌中可容纳 {fit} 个文本令牌。</translation>
    </message>
    <message>
        <source>CLIP drops the last {n} tokens, from here on:</source>
        <translation>CLIP 会丢弃最后 {n} 个令牌，从这里开始：</translation>
    </message>
    <message>
        <source>{count} / {limit} tokens</source>
        <translation>{count} / {limit} 个令牌</translation>
    </message>
</context>
<context>
    <name>VideoPlayer</name>
    <message>
        <source>{fps} fps</source>
        <extracomment>Frames shown per second while playing. Longest edge of a frame shown paused or scrubbed (enough for the panel on a large screen). Longest edge of the frames shown while playing (decoded ahead: smaller, to keep up). Seconds of frames decoded in one go while playing.</extracomment>
        <translation>{fps} 帧/秒</translation>
    </message>
    <message>
        <source>Play / pause (Space on the slider)</source>
        <translation>播放 / 暂停（在滑块上按空格）</translation>
    </message>
    <message>
        <source>Drag to scrub; arrow keys step a frame</source>
        <translation>拖动以快速浏览；方向键逐帧移动</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Cannot play this video:
{reason}</source>
        <translation>无法播放此视频：
{reason}</translation>
    </message>
    <message>
        <source>Cannot show this frame:
{reason}</source>
        <translation>无法显示此帧：
{reason}</translation>
    </message>
</context>
<context>
    <name>VideoSettings</name>
    <message>
        <source>≤ %1 frames × %2 ≈ %3 visual tokens</source>
        <extracomment>Qwen3-VL&apos;s video processor (cap_pixels_per_frame, as the engine asks): a frame pair costs at most 768 tokens, and all frames share a budget of 24,576 32x32-pixel patches (the checkpoints&apos; video_preprocessor_config longest_edge), so more frames means smaller frames.</extracomment>
        <translation>≤ %1 帧 × %2 ≈ %3 个视觉令牌</translation>
    </message>
    <message>
        <source>The video end (%1 s) must be after its start (%2 s).</source>
        <translation>视频结束时间（%1 秒）必须晚于开始时间（%2 秒）。</translation>
    </message>
    <message>
        <source>Frames sampled per second of video (Qwen3-VL was trained on 2)</source>
        <translation>每秒视频采样的帧数（Qwen3-VL 以 2 帧/秒训练）</translation>
    </message>
    <message>
        <source>At most this many frames per video; longer videos are sampled more sparsely</source>
        <translation>每个视频最多采样的帧数；较长的视频采样更稀疏</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开头</translation>
    </message>
    <message>
        <source>Caption videos from this time on (seconds; Start = from the beginning)</source>
        <translation>从此时间起为视频生成描述（秒；“开头”= 从头开始）</translation>
    </message>
    <message>
        <source>End</source>
        <translation>结尾</translation>
    </message>
    <message>
        <source>Caption videos up to this time (seconds; End = to the end)</source>
        <translation>为视频生成描述直到此时间（秒；“结尾”= 直到结束）</translation>
    </message>
    <message>
        <source>Frames per second</source>
        <translation>每秒帧数</translation>
    </message>
    <message>
        <source>Max frames</source>
        <translation>最大帧数</translation>
    </message>
    <message>
        <source>Trim (s)</source>
        <translation>截取（秒）</translation>
    </message>
    <message>
        <source>Visual tokens of one video at the resolution cap: frames × tokens per frame. Qwen3-VL shrinks the frames of a long video so that they share one budget.</source>
        <translation>在当前分辨率上限下单个视频的视觉令牌数：帧数 × 每帧令牌数。Qwen3-VL 会缩小长视频的帧，使它们共享同一预算。</translation>
    </message>
</context>
<context>
    <name>VideoTiles</name>
    <message>
        <source>Video</source>
        <extracomment>Where in a clip its poster frame is taken (a fraction of the duration). Clips shorter than this (seconds) show their first frame. The key of the JPEG comment holding a cached poster&apos;s video facts (Qt reads &quot;key: value&quot;).</extracomment>
        <translation>视频</translation>
    </message>
    <message>
        <source>Video, {duration}</source>
        <translation>视频，{duration}</translation>
    </message>
</context>
<context>
    <name>WindowChromeMixin</name>
    <message>
        <source>%1 (%2)</source>
        <extracomment>Streamed text reaches the grid&apos;s tiles this often (the live panel and editor get every 40 ms flush; a tile shows two lines, and repainting it less leaves the GIL to the worker).</extracomment>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>Open Folder…</source>
        <translation>打开文件夹…</translation>
    </message>
    <message>
        <source>Caption All</source>
        <translation>全部生成描述</translation>
    </message>
    <message>
        <source>Caption Selected</source>
        <translation>为所选生成描述</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Stop or Back to Grid</source>
        <translation>停止或返回网格</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Export captions to files</source>
        <translation>将描述导出到文件</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Choose, download or unload a model</source>
        <translation>选择、下载或卸载模型</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Find and Replace…</source>
        <translation>查找和替换…</translation>
    </message>
    <message>
        <source>Add Text to Selected…</source>
        <translation>向所选添加文本…</translation>
    </message>
    <message>
        <source>Prepend or append text to the selected captions</source>
        <translation>在所选描述前后添加文本</translation>
    </message>
    <message>
        <source>Filter</source>
        <translation>筛选</translation>
    </message>
    <message>
        <source>Edit Caption</source>
        <translation>编辑描述</translation>
    </message>
    <message>
        <source>Caption every file the run policy allows</source>
        <translation>为运行策略允许的所有文件生成描述</translation>
    </message>
    <message>
        <source>Caption the selected files</source>
        <translation>为所选文件生成描述</translation>
    </message>
    <message>
        <source>Stop the newest run; finished captions are kept, other runs go on (Esc)</source>
        <translation>停止最新的运行；已完成的描述会保留，其他运行继续（Esc）</translation>
    </message>
    <message>
        <source>Stop All Runs</source>
        <translation>停止所有运行</translation>
    </message>
    <message>
        <source>Stop every caption run; finished captions are kept</source>
        <translation>停止所有描述运行；已完成的描述会保留</translation>
    </message>
    <message>
        <source>Previous File</source>
        <translation>上一个文件</translation>
    </message>
    <message>
        <source>Next File</source>
        <translation>下一个文件</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Larger Tiles</source>
        <translation>放大缩略图</translation>
    </message>
    <message>
        <source>Smaller Tiles</source>
        <translation>缩小缩略图</translation>
    </message>
    <message>
        <source>Opening…</source>
        <translation>正在打开…</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>模型…</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Live captions</source>
        <translation>实时描述</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Caption</source>
        <translation>描述(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation>未加载模型</translation>
    </message>
</context>
</TS>

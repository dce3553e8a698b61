"""Reference token ids for the Swift port of open_clip's SimpleTokenizer.

Writes `tokens.safetensors` with one tensor `ids` of shape [N, 77] (int64): what
`open_clip.get_tokenizer('ViT-B-16-plus-240')` returns for N texts. The texts themselves are stored
in the file's `__metadata__` as {"texts": json.dumps(texts)}, row i of `ids` belonging to texts[i].

The texts are every prompt anomalib's WinCLIP builds for the class names "object", "transistor" and
"metal nut" (231 each: the normal then the anomalous ensemble of `create_prompt_ensemble`), then
hand-made hard cases for the text clean-up, the pre-tokenisation pattern and BPE.

Usage: python tokens.py OUT_DIR   (e.g. Tests/Fixtures)
"""

import json
import os
import sys

import numpy as np

CLASS_NAMES = ("object", "transistor", "metal nut")
CONTEXT_LENGTH = 77


def prompt_texts() -> list[str]:
    from anomalib.models.image.winclip.prompting import create_prompt_ensemble

    texts: list[str] = []
    for class_name in CLASS_NAMES:
        normal, anomalous = create_prompt_ensemble(class_name)
        assert len(normal) + len(anomalous) == 231, (class_name, len(normal), len(anomalous))
        texts += normal + anomalous
    return texts


def hard_cases() -> list[str]:
    long_text = (
        "A very long description of a metal nut photographed under bright light for visual inspection, "
        "with scratches, dents, rust, missing threads, bent edges, contamination and discolouration; "
        "the quick brown fox jumps over the lazy dog while the industrial camera records every detail "
        "of the surface, the thread and the hexagonal outline of the part on the conveyor belt."
    )
    return [
        # Non-ASCII letters, scripts, normalisation and case.
        "café",
        "Naïve RÉSUMÉ, ÇA VA? ÉTÉ",
        "Ünïcödé",
        "日本語のテキスト",
        "한국어 텍스트",
        "你好，世界！",
        "مرحبا بالعالم",
        "שלום עולם",
        "ภาษาไทย",
        "नमस्ते दुनिया",
        "Привет, МИР",
        "e\u0301cole cafe\u0301",  # combining acute, composed by NFC
        "\u2126mega \u212bngstr\u00f6m \u212aelvin",  # singleton decompositions (Ohm, Angstrom, Kelvin)
        "Straße STRASSE",
        "İstanbul ISTANBUL ı",
        "ΟΔΥΣΣΕΥΣ ΣΑΣ Σ σ Σ.",  # final sigma
        "ǅungla ǄEMAL ĳssel",  # titlecase digraph, ligature digraphs
        "ﬁne ﬂoor ﬀ ﬃ ﬅ",  # Latin ligatures
        "ＦＵＬＬＷＩＤＴＨ\u3000ｔｅｘｔ１２３ ｶﾀｶﾅ",  # fullwidth / halfwidth forms, ideographic space
        "𝒥ohn ℋancock 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "a\u0345b \u1fbc \u1fb3 !\u0345!",  # U+0345 matches no alternative under IGNORECASE
        # Emoji and symbols.
        "emoji 🙂🔥 fire",
        "👨\u200d👩\u200d👧 family 🇩🇪 👍🏽 😀\ufe0f",
        "100% 50°C x² ½ Ⅻ ① ٣٤٥",
        "price: $100 (approx.) @home #hashtag a+b=c",
        # HTML entities.
        "&amp; &lt;b&gt; bold &#39;s &#x263A;",
        "Tom &amp;amp; Jerry &amp;amp;amp;lt;",
        "<b>bold</b> &amp; &lt;i&gt; &amp;amp;",  # a literal '<' turns ftfy's unescaping off
        "a &amp; b\n<i>x</i>\n&amp;amp; c",  # ... for the rest of the text
        "x&nbsp;y &nbsp; z&NBSP;",
        "&EACUTE;COLE P&EACUTE;REZ &Eacute;cole BUNDESSTRA&SZLIG;E",
        "&notit; &amp &copy2023 &ampx &lt3 &Jscr;ohn",
        "&#128512; &#0; &#x110000; &#xD800; &#150; &#99999999999; &#x; &#;",
        "e&#769;cole <p>e&#769;</p>",
        "AT&T R&D & more &",
        # Contractions.
        "it's they're we've I'll he'd I'm don't",
        "IT'S THEY'RE WE'VE I'LL HE'D I'M DON'T",
        "‘curly’ “quotes” it’s ʼtwas",
        "'s 't 're 've 'm 'll 'd ''s 'x it'ſ",
        # Digits and punctuation.
        "123 4.5 1,000,000 3.14159 2024-01-01",
        "!!!??? --- ... ;; :-) <3",
        # Whitespace and control characters.
        "multiple   spaces\tand\ttabs\nand\nnewlines\r\nwindows\rmac",
        "  leading and trailing  ",
        "   \t\n ",
        "",
        "line\u2028separator\u2029paragraph \u0085next",
        "tab\u000bvertical\u000cformfeed\u001cfile nul\u0000char del\u007f",
        "zero\u200bwidth joiner\u200d soft\u00adhyphen bom\ufeffinside",
        "caf\u00e9\u00a0au\u00a0lait",
        "\u001b[31mred\u001b[0m text",
        # Special tokens written in the text.
        "<start_of_text> hello <end_of_text>",
        "<START_OF_TEXT>X<End_Of_Text>",
        # BPE and length.
        "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
        "HELLO WORLD a photo of a METAL NUT.",
        long_text,
        "a " * 75,  # exactly 77 ids with start and end: no truncation
        "a " * 76,  # 78 ids: truncated, end token kept
    ]


def write(out_dir: str) -> str:
    from safetensors.numpy import save_file
    import open_clip

    tokenizer = open_clip.get_tokenizer("ViT-B-16-plus-240")
    assert isinstance(tokenizer, open_clip.tokenizer.SimpleTokenizer), type(tokenizer)
    assert tokenizer.context_length == CONTEXT_LENGTH

    texts = prompt_texts() + hard_cases()
    ids = tokenizer(texts).numpy().astype(np.int64)
    assert ids.shape == (len(texts), CONTEXT_LENGTH), ids.shape

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "tokens.safetensors")
    save_file({"ids": np.ascontiguousarray(ids)}, path, metadata={"texts": json.dumps(texts)})
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tokens.py OUT_DIR")
    print(write(sys.argv[1]))

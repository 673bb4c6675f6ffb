"""SentencePiece-style vocabulary for llama.cpp (tokenizer.ggml.model = "llama").

The vocabulary is word-level: every word of the corpus is one piece ("\u2581word" after a space,
"word" at the start of a message), so the model sees one token per word. llama.cpp's SPM
tokenizer only merges two adjacent symbols when their concatenation is itself a piece, so every
prefix of every word is in the vocabulary too; with that, any order of merges ends in the whole
word, and the scores do not matter. Anything else falls back to <0xXX> byte tokens.

`encode` is a line-by-line port of llama.cpp's llm_tokenizer_spm_session (src/llama-vocab.cpp)
with add_space_prefix = false, so training ids equal what llama.cpp produces; check_model.cpp
verifies that on the whole corpus.
"""

import heapq
import re

SPACE = "\u2581"

# Token types as llama.cpp reads them from tokenizer.ggml.token_type.
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6

UNK, BOS, IM_END, IM_START = "<unk>", "<s>", "<|im_end|>", "<|im_start|>"
SPECIALS = [(UNK, UNKNOWN), (BOS, CONTROL), (IM_END, CONTROL), (IM_START, CONTROL)]

WORD = re.compile(SPACE + "?[A-Za-z]+")


class Vocab:
    def __init__(self, pieces, types, scores):
        self.pieces = pieces
        self.types = types
        self.scores = scores
        self.id_of = {p: i for i, p in enumerate(pieces)}
        assert len(self.id_of) == len(pieces), "duplicate pieces"
        # llama.cpp matches these before tokenizing text (parse_special = true), longest first.
        self.special = sorted(
            [p for p, t in zip(pieces, types) if t in (CONTROL, UNKNOWN)], key=len, reverse=True
        )
        self.special_re = re.compile("(" + "|".join(re.escape(s) for s in self.special) + ")")

    @property
    def unk_id(self):
        return self.id_of[UNK]

    @property
    def bos_id(self):
        return self.id_of[BOS]

    @property
    def im_end_id(self):
        return self.id_of[IM_END]

    @property
    def im_start_id(self):
        return self.id_of[IM_START]

    def byte_id(self, b):
        return self.id_of["<0x%02X>" % b]

    # --- encoding -------------------------------------------------------------------------

    def _spm(self, text, out):
        """llm_tokenizer_spm_session::tokenize on one text fragment (spaces already escaped)."""
        sym_text = list(text)  # one symbol per code point, as llama.cpp splits UTF-8 characters
        n = len(sym_text)
        if n == 0:
            return
        prev = list(range(-1, n - 1))
        nxt = list(range(1, n)) + [-1]
        live = [True] * n
        heap = []

        def try_add(left, right):
            if left == -1 or right == -1:
                return
            merged = sym_text[left] + sym_text[right]
            tid = self.id_of.get(merged)
            if tid is None:
                return
            # priority_queue top: highest score, then lowest left index
            heapq.heappush(heap, (-self.scores[tid], left, right, len(merged)))

        for i in range(1, n):
            try_add(i - 1, i)
        while heap:
            _, left, right, size = heapq.heappop(heap)
            if not live[left] or not live[right] or len(sym_text[left]) + len(sym_text[right]) != size:
                continue
            sym_text[left] += sym_text[right]
            live[right] = False
            nxt[left] = nxt[right]
            if nxt[right] >= 0:
                prev[nxt[right]] = left
            try_add(prev[left], left)
            try_add(left, nxt[left])

        i = 0
        while i != -1:
            tid = self.id_of.get(sym_text[i])
            if tid is not None:
                out.append(tid)
            else:
                out.extend(self.byte_id(b) for b in sym_text[i].encode("utf-8"))
            i = nxt[i]

    def encode(self, text):
        """Tokenize like llama_tokenize(add_special=false, parse_special=true)."""
        out = []
        for part in self.special_re.split(text):
            if part == "":
                continue
            if part in self.id_of and part in self.special:
                out.append(self.id_of[part])
            else:
                self._spm(part.replace(" ", SPACE), out)
        return out

    def decode(self, ids):
        """Detokenize like llama_detokenize(remove_special=false, unparse_special=true)."""
        buf = bytearray()
        for i in ids:
            p, t = self.pieces[i], self.types[i]
            if t == BYTE:
                buf.append(int(p[3:5], 16))
            else:
                buf.extend((p.replace(SPACE, " ") if t == NORMAL else p).encode("utf-8"))
        return buf.decode("utf-8")


def build_vocab(texts):
    """Specials, the 256 byte tokens, every character seen, then every word and its prefixes."""
    pieces = [s for s, _ in SPECIALS]
    types = [t for _, t in SPECIALS]
    for b in range(256):
        pieces.append("<0x%02X>" % b)
        types.append(BYTE)
    chars, words = set(), {}
    special_re = re.compile("|".join(re.escape(s) for s, _ in SPECIALS))
    for text in texts:
        for frag in special_re.split(text):
            frag = frag.replace(" ", SPACE)
            chars.update(c for c in frag if c != "\n")
            for w in WORD.findall(frag):
                words[w] = words.get(w, 0) + 1
    normal = sorted(chars)
    seen = set(normal)
    # Most frequent words first only to make the vocabulary readable; order does not change ids' meaning.
    for w in sorted(words, key=lambda w: (-words[w], w)):
        for k in range(2, len(w) + 1):
            if w[:k] not in seen:
                seen.add(w[:k])
                normal.append(w[:k])
    pieces += normal
    types += [NORMAL] * len(normal)
    # Scores are irrelevant to the result (see module doc); make them distinct and decreasing.
    scores = [0.0] * (len(SPECIALS) + 256) + [-float(i) for i in range(len(normal))]
    return Vocab(pieces, types, scores)

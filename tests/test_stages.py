"""Behaviour of the pipeline stages a user would notice: reading, language detection, splitting."""

import pytest

from align.io import detect, read, split
from align.errors import InputError


ZH = "今天，星河科技发布了新模型。该模型可以预测拥堵。"
EN = "Today, Galaxy Tech released a new model. The model predicts congestion."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_reads_common_encodings(tmp_path, encoding):
    path = tmp_path / "doc.txt"
    path.write_bytes(f"{ZH}\n\n{EN}\n".encode(encoding))
    assert read.read_text(path) == f"{ZH}\n\n{EN}\n"


def test_reads_big5(tmp_path):
    text = "今天，星河科技發佈了新模型。該模型可以預測擁堵。\n\nToday, Galaxy Tech released a new model.\n"
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode("big5"))
    assert read.read_text(path) == text


def test_normalises_debris_spaces_and_line_ends():
    raw = "[bookmark: _GoBack][28 May 2023,\u00a0Beijing] Today\u200b, it rained.\r\nNext\rline"
    assert read.normalise(raw) == "[28 May 2023, Beijing] Today, it rained.\nNext\nline"


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read.read_text(tmp_path / "nope.txt")


def test_pdf_renamed_to_txt_is_refused(tmp_path):
    path = tmp_path / "doc.txt"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    with pytest.raises(InputError, match="PDF"):
        read.read_text(path)


@pytest.mark.parametrize("layout,text", [
    ("zh-en", f"{ZH}\n\n{EN}\n"),
    ("en-zh", f"{EN}\n\n{ZH}\n"),
])
def test_finds_both_halves(layout, text):
    parts = detect.split_languages(text)
    assert parts.layout == layout
    assert parts.zh == [ZH] and parts.en == [EN]


def test_interleaved_paragraphs():
    text = "第一段。\nFirst paragraph.\n第二段。\nSecond paragraph.\n"
    parts = detect.split_languages(text)
    assert parts.layout == "interleaved"
    assert parts.zh == ["第一段。", "第二段。"]
    assert parts.en == ["First paragraph.", "Second paragraph."]


def test_neutral_lines_go_with_their_side():
    text = "标题\n第一段。\n###\n\nTitle\nFirst paragraph.\n2023-05-28\n"
    parts = detect.split_languages(text)
    assert parts.zh == ["标题", "第一段。", "###"]
    assert parts.en == ["Title", "First paragraph.", "2023-05-28"]


def test_chinese_paragraph_full_of_english_names_stays_chinese():
    para = ("专场由牛津大学津雅全球创新咨询机构（Oxentia）执行总裁史蒂夫·克莱弗利（Steve Cleverley）"
            "和那赞·麦克纳利（Nathan McNally）主持。")
    assert detect.language(para) == "zh"


def test_hard_wrapped_english_is_joined():
    text = ("The conference on technology transfer from the world's top universities was held in\n"
            "Beijing on Monday, with representatives of dozens of universities at home and abroad.\n"
            "Short title line\nIt ended well with a lunch in\nthe garden.\n")
    assert detect.paragraphs(text) == [
        "The conference on technology transfer from the world's top universities was held in Beijing on "
        "Monday, with representatives of dozens of universities at home and abroad.",
        "Short title line", "It ended well with a lunch in the garden."]


@pytest.mark.parametrize("para,expected", [
    ("他说：“我们走吧。”然后走了！真的吗？", ["他说：“我们走吧。”", "然后走了！", "真的吗？"]),
    ("增长了13.6%。总额为129.8亿元。", ["增长了13.6%。", "总额为129.8亿元。"]),
    ("他发布了《报告》（2022年版）。随后离开……大家鼓掌。", ["他发布了《报告》（2022年版）。", "随后离开……", "大家鼓掌。"]),
    ("版本v2.0已经上线。", ["版本v2.0已经上线。"]),
    ("「好吗？」她问。", ["「好吗？」", "她问。"]),
    # an ellipsis right after a stop ends that sentence
    ("这是1108：21：35。……倒计时在继续。", ["这是1108：21：35。……", "倒计时在继续。"]),
    ("“传奇中的传奇。” ……他们又谈了一会儿。", ["“传奇中的传奇。” ……", "他们又谈了一会儿。"]),
    ("他道：“你不会摔交。 ”我道：“谁说不会？”", ["他道：“你不会摔交。 ”", "我道：“谁说不会？”"]),
    # an ellipsis inside an open quotation or at a paragraph's start does not end a sentence
    ("“您能…… 说具体些吗？”他问。", ["“您能…… 说具体些吗？”", "他问。"]),
    ("……他们又谈了一会儿。", ["……他们又谈了一会儿。"]),
    # two quoted utterances that end in dashes, one after the other
    ("喇叭说：“咚——咚——”“猛捅——”有人学着说。", ["喇叭说：“咚——咚——”", "“猛捅——”有人学着说。"]),
    ("推进“放管服”“互联网+”等改革。", ["推进“放管服”“互联网+”等改革。"]),
])
def test_chinese_sentences(para, expected):
    assert split.split_zh(para) == expected


@pytest.mark.parametrize("para,expected", [
    ("Jiang Aina, General Manager of Beijing Zhongguancun Software Park Development Co.Ltd. launched the "
     "Platform. It grew.",
     ["Jiang Aina, General Manager of Beijing Zhongguancun Software Park Development Co.Ltd. launched the "
      "Platform.", "It grew."]),
    ("Cao Yihai, Professor of J. J. Rawlings, spoke. The total was RMB 12.98 billion, up 13.6%.",
     ["Cao Yihai, Professor of J. J. Rawlings, spoke.", "The total was RMB 12.98 billion, up 13.6%."]),
    ("TusPark International Technology Transfer Co.,Ltd., Education Online(China) and Dr. Smith of the "
     "U.S. Army met at No. 5 Main Street. They left.",
     ["TusPark International Technology Transfer Co.,Ltd., Education Online(China) and Dr. Smith of the "
      "U.S. Army met at No. 5 Main Street.", "They left."]),
    ("He signed with Hangzhou Metro Co.,Ltd. The three parties will build a lab.",
     ["He signed with Hangzhou Metro Co.,Ltd.", "The three parties will build a lab."]),
    ("Apple Inc. is rich. Beijing Co. Ltd. launched it.", ["Apple Inc. is rich.", "Beijing Co. Ltd. launched it."]),
    ("'Well! Surrender?' He said \"Go.\" Then he left. So was I. At five the U.S. Army came.",
     ["'Well!", "Surrender?'", 'He said "Go."', "Then he left.", "So was I.", "At five the U.S. Army came."]),
    ("'But I—' 'You what?' snapped the eunuch. He met Dr. Li at 5 p.m. Friday.",
     ["'But I—'", "'You what?' snapped the eunuch.", "He met Dr. Li at 5 p.m. Friday."]),
    # a closing quote stays with its sentence; a spaced ellipsis ends the sentence before it
    ("It should be out presently.' But an old man said no.",
     ["It should be out presently.'", "But an old man said no."]),
    ("Not these 'tourist attractions.'\" \"In recent years, it grew.",
     ["Not these 'tourist attractions.'\"", "\"In recent years, it grew."]),

    ("It means bad luck. . . . The bearers' banter turned coarse.",
     ["It means bad luck. . . .", "The bearers' banter turned coarse."]),
    ("'Too-tah – too-tah –' 'Poo-pah –' One of them laughed.", ["'Too-tah – too-tah –'", "'Poo-pah –'", "One of them laughed."]),
])
def test_english_sentences(para, expected):
    assert split.split_en(para) == expected


def test_splitting_keeps_every_character():
    para = "A. B. C. Mr. X went to the U.S. on Jan. 5. It rained! Did it? Yes... (It did.) OK."
    sentences = split.split_en(para)
    assert "".join(sentences).replace(" ", "") == para.replace(" ", "")


def test_sentences_remember_their_paragraph():
    sents = split.split(["第一句。第二句。", "第三句。"], "zh")
    assert [(s.text, s.para) for s in sents] == [("第一句。", 0), ("第二句。", 0), ("第三句。", 1)]


# ---------------------------------------------------------------- headings and list items

@pytest.mark.parametrize("para", [
    "II. Increasing the Efficiency of Biodiversity Conservation", "3. Strengthening Law Enforcement and Supervision",
    "IV. Deepening International Cooperation", "II.All-Round Opening Up", "3.1 Scope of Application",
    "(a) Definitions", "(i) General provisions", "(1) The duties of the council", "Article 3 This Law applies to all.",
    "Chapter IV Legal Liability", "No. 5 Regulation on Greenways", "A. General Rules",
    "Goals: (a) growth; (b) jobs; and (c) trade."])
def test_a_heading_or_list_item_is_one_sentence_with_its_marker(para):
    assert split.split_en(para) == [para]


@pytest.mark.parametrize("para", ["一、总体要求", "（一）坚持相互尊重、共同发展", "1. 加强执法监督", "第三条 本法适用于全国。",
                                  "第一章 总则"])
def test_a_chinese_heading_is_one_sentence_with_its_marker(para):
    assert split.split_zh(para) == [para]


def test_numbers_that_end_a_sentence_still_end_it():
    assert split.split_en("The total was 3. Then we left.") == ["The total was 3.", "Then we left."]
    assert split.split_en("He won in 2019. II. The Next Part") == ["He won in 2019.", "II. The Next Part"]


def test_a_heading_line_is_never_joined_to_the_wrapped_lines_around_it():
    text = ("II. Increasing the Efficiency of Biodiversity Conservation and Sustainable Use of Resources\n"
            "China has taken steps to strengthen the conservation of biodiversity across all of its land and\n"
            "its seas, with new laws and new national parks.\n"
            "(a) the first item of a list that is long enough to look like a hard-wrapped line of text\n"
            "(b) the second item of the list, which is also long enough to look like a wrapped line\n")
    assert detect.paragraphs(text) == [
        "II. Increasing the Efficiency of Biodiversity Conservation and Sustainable Use of Resources",
        "China has taken steps to strengthen the conservation of biodiversity across all of its land and its seas, "
        "with new laws and new national parks.",
        "(a) the first item of a list that is long enough to look like a hard-wrapped line of text",
        "(b) the second item of the list, which is also long enough to look like a wrapped line"]

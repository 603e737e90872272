"""The study's report, from the results to report.pdf, in Chinese or English.

    findings     what the numbers show, in no language: the noise rule's verdicts, gaps, fits
    phrases_zh   each finding's sentence in Chinese (phrases_en: in English), with format fields
    words_zh     the report's own words in Chinese (words_en: in English): headings, captions, labels
    wording      numbers and lists as the report writes them; say(): an entry of those tables filled in
    discussion   the report's sentences: a finding from findings, phrased from its language's table
    measures     what the report computes or reads itself: gradient check, model.npz, examples.npz
    keycode      the code the report shows: the course's three functions, a student's from impl/
    visualize    the study's plots, as functions returning Figures, labelled in zh or en
    fonts        the CJK font of the PDF and the figures: one candidate list per role, any system
    method       the method section: formulas, the gradient check's verdict, the key code
    sections     the result sections: tables, figures, and the findings placed between them
    document     the report laid out (title, summary, method, setup, sections, appendix) and written
    typeset      blocks -> report.typ (templates/report.typ) -> report.pdf (Typst), and report.md
"""

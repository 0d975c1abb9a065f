"""Input and output: reading files (encodings, .docx, .html), finding the two languages,
splitting sentences, naming documents, writing TMX/CSV/TSV/JSONL/XLSX and reading our own
outputs back. Nothing here knows about embeddings or alignment."""

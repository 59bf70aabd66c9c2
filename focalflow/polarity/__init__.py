"""Stage 4's pipeline side: P windows for the CNN models (``models/``), reversals, evaluation
against analyst labels, model comparison, fine-tuning on labelled picks, the ToC2ME case study."""

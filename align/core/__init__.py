"""The alignment core: encoders, vector maths, bead scores, the dynamic programme, moved
blocks, one-sided sentences and calibrated confidences. Works on sentence lists and vectors;
no file I/O."""

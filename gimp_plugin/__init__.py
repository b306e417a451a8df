"""The GIMP 3 DeepDream plug-in (``dreamd_deepdream/``) and its installer (``installer``)."""

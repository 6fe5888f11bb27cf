"""IR definitions (layer 1): the qsim dialect; hwspec and qnn join it later."""

"""Module passes (layer 3): thin bindings of pass options to the engines in hago_ir."""

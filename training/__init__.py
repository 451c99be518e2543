"""Training and export: everything that needs torch, torchvision or ultralytics (the [train] extra).

The engine never imports this package; it only reads the ONNX files and model cards written here.
"""

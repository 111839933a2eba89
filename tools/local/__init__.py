"""The whole pipeline on one machine: moto for AWS, the handlers called as Lambda calls them."""

"""The policy pack: rules that prove a render keeps the platform's design, before apply."""

"""Downloading a plan option's file set: resumable, verified, cancellable."""

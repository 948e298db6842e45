"""Deployment artefacts: Dockerfile, docker compose, Kubernetes manifests."""

"""Model downloads: `python -m atelier.download` and POST/GET /v1/models/{id}/download."""

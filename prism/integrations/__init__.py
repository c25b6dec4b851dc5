"""Third-party integrations served beside the API: change-feed wake-ups and webhook delivery."""

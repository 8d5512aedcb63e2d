"""trainer_module/models package."""

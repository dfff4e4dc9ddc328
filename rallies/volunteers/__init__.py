"""Volunteer shifts: organizers define them, volunteers sign up without an account and get their own door link."""

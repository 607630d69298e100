"""In-app notifications (the bell), optional e-mail, and a daily digest for those who opt in."""

"""Mail: composing and sending templates, feedback and reminders; collecting replies over IMAP."""

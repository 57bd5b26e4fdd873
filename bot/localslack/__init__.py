"""A local stand-in for Slack: its Web API on 127.0.0.1, and signed requests sent to the bot."""

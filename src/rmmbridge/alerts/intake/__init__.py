"""Alert intake channels: e-mail parsing and rules, webhooks, the SMTP receiver and IMAP mailboxes."""

"""Data retention (RGPD): archive, delete, erase message texts, prune the audit trail."""

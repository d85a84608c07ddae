-- Migration 0003: a group's invite code (the chat.whatsapp.com/<code> link). Empty until an
-- admin first asks for it; resetting it makes the previous code stop working.

ALTER TABLE groups ADD COLUMN invite_code TEXT NOT NULL DEFAULT '';

-- What a published ladder offers (its length and rungs, as JSON read back from its playlists by the worker
-- that published it), so that the catalog can show a lecture's duration and renditions without reading
-- storage. Empty for ladders published before this column existed.
ALTER TABLE jobs ADD COLUMN ladder_summary TEXT;

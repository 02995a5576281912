-- Objects completed from multipart uploads keep their parts' blobs, in order, instead of a
-- copy of them joined into one blob: completing costs rows, not a second write of the bytes.
-- Such an object's `objects.blob` names its pieces here (a name ending in `.parts`, with no
-- file of its own); a piece's blob is named by no other row. The piece rows go in the
-- transaction that drops or replaces the object, which then removes their files.
CREATE TABLE object_pieces (
    blob     TEXT COLLATE "C" PRIMARY KEY,
    object   TEXT COLLATE "C" NOT NULL,
    number   BIGINT NOT NULL,
    size     BIGINT NOT NULL,
    UNIQUE (object, number)
);

"""PDF and DOCX exports of plan versions (evidence: same version, same bytes, hash recorded)."""


def version_exports_store(*, version_id: int) -> None:
    """Render, store and record the hashes of both exports of a version. Called after approval commits."""

"""yt8m_cli package."""

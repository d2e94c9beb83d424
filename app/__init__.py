"""Convoc — rappels SMS de convocations pour les SPIP."""

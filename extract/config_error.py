"""The one error every settings check raises (a module of its own, so the value parsers it
serves, such as ``extract.cadence``, and ``extract.config_values`` need not import each other)."""


class ConfigError(ValueError):
    """The configuration file, an environment variable or a flag has an invalid value."""

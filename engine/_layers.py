"""Which layers a dream uses: the parameters' names resolved against a model's catalogue.

The one place where layer names, channel ranges and the model's defaults are applied: the
engine dreams with these, and the daemon and dream-batch call them to refuse a typo before
an image is read or a job is queued.
"""

from __future__ import annotations

from ._catalogue import Layer, LayerCatalogue
from ._errors import InvalidParams
from ._params import DreamParams, LayerSpec


def dream_layers(catalogue: LayerCatalogue, params: DreamParams) -> list[tuple[Layer, LayerSpec]]:
    """The layers ``params.layers`` name, each with its spec; the model's default layer
    (weight 1, every channel) when none is named.

    Raises:
        UnknownLayer: field ``layers[i]`` (the entry), with the closest names.
        InvalidParams: field ``layers[i].channels``, a channel the layer does not have.
    """
    if not params.layers:
        return [(catalogue.default, LayerSpec(catalogue.default.name))]
    out = []
    for i, spec in enumerate(params.layers):
        layer = catalogue.find(spec.name, f"layers[{i}]")
        if spec.channels is not None and max(spec.channels) >= layer.channels:
            raise InvalidParams(
                f"layers[{i}].channels",
                f"layer {layer.name} has {layer.channels} channels (0..{layer.channels - 1}), "
                f"got {max(spec.channels)}",
            )
        out.append((layer, spec))
    return out


def style_layers(catalogue: LayerCatalogue, params: DreamParams) -> list[Layer]:
    """The layers whose Gram matrices a style transfer matches: ``params.style_layers``,
    or the model's defaults when none is named.

    Raises:
        UnknownLayer: field ``style_layers``, with the closest names.
    """
    named = [catalogue.find(name, "style_layers") for name in params.style_layers]
    return named or list(catalogue.style_defaults)


def content_layer(catalogue: LayerCatalogue, params: DreamParams) -> Layer:
    """The layer whose features a style transfer keeps: ``params.content_layer``, or the
    model's default.

    Raises:
        UnknownLayer: field ``content_layer``, with the closest names.
    """
    if params.content_layer:
        return catalogue.find(params.content_layer, "content_layer")
    return catalogue.content_default


def resolve_layers(
    catalogue: LayerCatalogue, params: DreamParams, styled: bool = False
) -> DreamParams:
    """``params`` checked against the model: every dream, style and content layer exists
    and every channel is in range. The dream layers are returned by canonical name, the
    model's default filled in when none is named (a style transfer with none named keeps
    none); with ``styled`` (a style image is given) the style and content layers too. What
    a result records then says which layers were used.

    Raises:
        UnknownLayer: naming the field (``layers[i]``, ``style_layers``, ``content_layer``).
        InvalidParams: field ``layers[i].channels``.
    """
    dreamed = dream_layers(catalogue, params)
    style = style_layers(catalogue, params)
    content = content_layer(catalogue, params)
    if not styled or params.layers:
        # The layers dreamed on, by canonical name (a style transfer with none named dreams
        # on none: its empty list stays).
        layers = tuple(LayerSpec(layer.name, spec.weight, spec.channels) for layer, spec in dreamed)
        params = params.with_(layers=layers)
    if not styled:
        return params
    return params.with_(
        style_layers=tuple(dict.fromkeys(layer.name for layer in style)),
        content_layer=content.name,
    )

using System.Globalization;

namespace Rnnx.Saving;

/// <summary>
/// The weight values a model being loaded may still create. While a loaded architecture builds, every
/// <see cref="Layers.Layer"/> weight draws its element count from this budget instead of running its initializer, so a
/// small file that declares a huge layer is refused at the first weight that does not fit, in microseconds and before
/// that weight is allocated. The budget is the smaller of what the file holds and <see cref="ModelLoadOptions.MaxParameters"/>.
/// </summary>
internal sealed class WeightBudget(long fileValues, long maxParameters)
{
    private long _used;

    /// <summary>Takes <paramref name="elements"/> values for a weight of <paramref name="layer"/>.</summary>
    /// <exception cref="ModelFormatException">The model would need more values than the file holds or the limit allows.</exception>
    public void Take(string layer, string weight, ReadOnlySpan<int> shape, long elements)
    {
        long total = _used + elements;
        if (total > maxParameters)
            throw new ModelFormatException(
                $"the architecture needs more than {maxParameters} weight values (ModelLoadOptions.MaxParameters): {layer}'s weight '{weight}' of shape {Text(shape)} alone has {elements}");
        if (total > fileValues)
            throw new ModelFormatException(
                $"the architecture needs more weight values than the file holds ({fileValues}): {layer}'s weight '{weight}' of shape {Text(shape)} brings it to {total}");
        _used = total;
    }

    /// <summary>
    /// Checks a temporary buffer a layer needs while building (for example the zero input of a cell's probe step):
    /// it may not be larger than the weights the file may hold.
    /// </summary>
    /// <exception cref="ModelFormatException">The buffer is larger than the file's weights or the limit.</exception>
    public void CheckTemporary(string layer, string what, long elements)
    {
        long limit = Math.Min(fileValues, maxParameters);
        if (elements > limit)
            throw new ModelFormatException($"{layer} would build with {what} of {elements} values, more than the {limit} weight values the file may hold");
    }

    private static string Text(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }
}

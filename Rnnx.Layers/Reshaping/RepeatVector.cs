using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Repeats a vector <see cref="N"/> times along a new time axis (Keras's <c>keras.layers.RepeatVector(n)</c>):
/// (batch, features) → (batch, n, features). Turns a sequence-to-vector encoder's output into a decoder's input.
/// </summary>
[SavedAs("RepeatVector")]
public sealed class RepeatVector : Layer
{
    // Per-thread list of n copies handed to Stack: shards run concurrently, and nothing is allocated per call.
    [ThreadStatic] private static Tensor[]? t_copies;

    /// <summary>Creates the layer.</summary>
    /// <param name="n">How many times to repeat (at least 1).</param>
    /// <param name="name">Optional name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not positive.</exception>
    public RepeatVector(int n, string? name = null) : base(name)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"{name ?? "repeat_vector"}: n must be at least 1, got {n}.");
        N = n;
    }

    /// <summary>The number of repetitions.</summary>
    public int N { get; }

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape)
    {
        if (inputShape.Length != 1) throw ShapeError($"expects input (batch, features), got (None, {string.Join(", ", inputShape.Select(d => d?.ToString() ?? "None"))}).");
        return [N, inputShape[0]];
    }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape) => ComputeOutputShape(inputShape);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 2) throw ShapeError($"expects input (batch, features), got {input.Shape}.");
        var copies = t_copies is { } c && c.Length >= N ? c : t_copies = new Tensor[N];
        try
        {
            copies.AsSpan(0, N).Fill(input);
            return Tensor.Stack(1, copies.AsSpan(0, N));
        }
        finally
        {
            Array.Clear(copies, 0, N);
        }
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig().Set("n", N);

    internal static RepeatVector FromConfig(LayerConfig c) => new(c.GetInt("n"), c.Name);

    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var column = graph.Op("Unsqueeze", $"{path}/column", [input, graph.ConstantInt64($"{path}/axis", 1)]);
        return graph.Op("Expand", $"{path}/repeated", [column, graph.ConstantInt64($"{path}/shape", 1, N, 1)]);
    }
}

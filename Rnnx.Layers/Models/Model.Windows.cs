using Rnnx.Data;

namespace Rnnx.Models;

public partial class Model
{
    // Bounds Predict(SeriesWindows)'s input buffer (values), so long windows do not make it grow with the window.
    private const long MaxWindowValuesPerChunk = 1L << 22;

    // The per-sample target shape of the training windows of the running Fit (horizon, or horizon × 1); written only
    // by Fit, which no read runs beside.
    private Shape _windowTargetShape;

    /// <summary>
    /// Loss and metrics on windows cut from a series batch by batch, as <see cref="Evaluate(Tensor, Tensor, int)"/> gives
    /// on the materialized windows (bit for bit).
    /// </summary>
    /// <remarks>Safe to call from many threads at once, as <see cref="Evaluate(Tensor, Tensor, int)"/>.</remarks>
    /// <exception cref="InvalidOperationException">Not compiled, or a mutation (Fit, SetWeights, ...) is running on another thread.</exception>
    /// <exception cref="ShapeMismatchException">The model does not take (window, 1) inputs or give horizon outputs.</exception>
    public Dictionary<string, double> Evaluate(SeriesWindows windows, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(windows);
        using var read = _access.Read(nameof(Evaluate));
        if (Loss is null) throw new InvalidOperationException($"{Name}: call Compile before Evaluate.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var targetShape = CheckWindows(windows, "windows");
        return EvaluateWindows(windows, batchSize, targetShape);
    }

    /// <summary>
    /// The model's outputs (samples, horizon) for windows cut from a series, a bounded number of samples at a time (the
    /// same values as <see cref="Predict(Tensor, int)"/> on the materialized windows). The outputs are in the windows'
    /// scaled units; <see cref="SeriesWindows.InverseForecasts"/> turns them into series values.
    /// </summary>
    /// <remarks>
    /// Safe to call from many threads at once, as <see cref="Predict(Tensor, int)"/>; every row comes from the same
    /// weights (a mutation cannot start between two chunks). The input buffer holds at most about 4 Mi values whatever
    /// the window, so memory stays bounded by the output, not by windows × window.
    /// </remarks>
    /// <exception cref="ShapeMismatchException">The model does not take (window, 1) inputs or give horizon outputs.</exception>
    /// <exception cref="InvalidOperationException">A mutation (Fit, SetWeights, ...) is running on another thread.</exception>
    public Tensor Predict(SeriesWindows windows, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        using var read = _access.Read(nameof(Predict));
        CheckWindows(windows, "windows");
        int n = windows.Count, w = windows.Window;
        int chunk = (int)Math.Max(1, Math.Min(Math.Max(batchSize, 4096), MaxWindowValuesPerChunk / w));
        if (StatefulLayers.Count > 0)
        {
            CheckStatefulData(nameof(Predict), n, batchSize);
            chunk = Math.Max(batchSize, chunk - chunk % batchSize);   // whole batches per chunk
        }
        Tensor result = default;
        Array? resultArray = null;
        var xs = new float[checked(Math.Min(n, chunk) * w)];
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            for (int i = 0; i < count; i++) windows.Fill(start + i, xs.AsSpan(i * w, w), []);
            var part = Predict(Tensor.FromArray(xs.AsSpan(0, count * w), count, w, 1), batchSize);
            if (start == 0) (result, resultArray) = AllocateResult(part.Shape.With(0, n));
            int rowLen = part.Size / count;
            if (DType == DType.Float32) part.AsSpan<float>().CopyTo(((float[])resultArray!).AsSpan(start * rowLen));
            else part.AsSpan<double>().CopyTo(((double[])resultArray!).AsSpan(start * rowLen));
        }
        return result;
    }

    /// <summary>Builds the model for the windows if needed and checks that they fit its input and output.</summary>
    /// <returns>The per-sample target shape the model's output takes (horizon, or horizon × 1).</returns>
    private Shape CheckWindows(SeriesWindows windows, string what)
    {
        var probe = Tensor.FromArray(new float[windows.Window], 1, windows.Window, 1);
        var x = CheckInputs(probe, what);
        var y = AlignTargets(x, Tensor.FromArray(new float[windows.Horizon], 1, windows.Horizon), what + " (targets)");
        return y.Shape.Remove(0);
    }

    private Dictionary<string, double> EvaluateWindows(SeriesWindows windows, int batchSize, Shape targetShape, ShardWorkers? heldWorkers = null) =>
        EvaluateBatches(windows.Count, batchSize, heldWorkers, (start, count, part) =>
        {
            for (int i = 0; i < count; i++) part.Rows[i] = start + i;
            (part.X[0], part.Y[0]) = GatherWindows(windows, part.Rows.AsSpan(0, count), targetShape);
        });

    [ThreadStatic] private static float[]? t_windowBuffer;

    /// <summary>The inputs and targets of samples <paramref name="rows"/> cut from the series into new tensors on the active tape.</summary>
    private (Tensor X, Tensor Y) GatherWindows(SeriesWindows windows, ReadOnlySpan<int> rows, Shape targetShape)
    {
        int w = windows.Window, h = windows.Horizon;
        var xShape = new Shape(rows.Length, w, 1);
        var yShape = targetShape.Insert(0, rows.Length);
        Tensor xo, yo;
        if (DType == DType.Float32)
        {
            xo = Tensor.CreateForWriting<float>(xShape, out var xs);
            yo = Tensor.CreateForWriting<float>(yShape, out var ys);
            for (int i = 0; i < rows.Length; i++) windows.Fill(rows[i], xs.Slice(i * w, w), ys.Slice(i * h, h));
        }
        else
        {
            // Float64 models: the same float values the materialized path converts, widened exactly.
            var buffer = t_windowBuffer is { } b && b.Length >= w + h ? b : t_windowBuffer = new float[w + h];
            xo = Tensor.CreateForWriting<double>(xShape, out var xs);
            yo = Tensor.CreateForWriting<double>(yShape, out var ys);
            for (int i = 0; i < rows.Length; i++)
            {
                windows.Fill(rows[i], buffer.AsSpan(0, w), buffer.AsSpan(w, h));
                for (int j = 0; j < w; j++) xs[i * w + j] = buffer[j];
                for (int k = 0; k < h; k++) ys[i * h + k] = buffer[w + k];
            }
        }
        return (xo, yo);
    }
}

namespace Rnnx.Data;

/// <summary>
/// Forecasting samples cut from a series on the fly: sample i reads <c>window</c> inputs ending just before its first
/// target <c>FirstTarget + i·stride</c> and the <c>horizon</c> values from there, scaled by an optional
/// <see cref="SeriesScaler"/>. Only the series is held (memory grows with the series, not series × window);
/// <c>Sequential</c>'s Fit, Evaluate and Predict overloads cut their batches from it, and
/// <see cref="Materialize"/> gives the same samples as arrays (bit for bit).
/// </summary>
public sealed class SeriesWindows
{
    private readonly float[] _series;

    /// <summary>
    /// Samples whose targets lie in [<paramref name="targetsFrom"/>, <paramref name="targetsTo"/>) of
    /// <paramref name="series"/> (the inputs may reach before <paramref name="targetsFrom"/>, as a forecast made at that
    /// time would read them).
    /// </summary>
    /// <param name="series">The raw values, oldest first; held, not copied (do not change it while the windows are in use).</param>
    /// <param name="window">Input steps per sample.</param>
    /// <param name="horizon">Target steps per sample.</param>
    /// <param name="scaler">The scaling of inputs and targets (null: raw values).</param>
    /// <param name="targetsFrom">The first index a target may have; default (−1) the earliest possible, window + lookback.</param>
    /// <param name="targetsTo">One past the last index a target may have; default (−1) the series length.</param>
    /// <param name="stride">Distance between consecutive samples' first targets.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or a bound is outside the series (the parameter is named).</exception>
    /// <exception cref="ArgumentException">No sample fits (the message gives the lengths), or a value the windows read is not finite.</exception>
    public SeriesWindows(float[] series, int window, int horizon, SeriesScaler? scaler = null, int targetsFrom = -1, int targetsTo = -1, int stride = 1)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        int lookback = scaler?.Lookback ?? 0;
        long earliest = (long)window + lookback;
        if (targetsTo == -1) targetsTo = series.Length;
        if (targetsFrom == -1) targetsFrom = (int)Math.Min(earliest, int.MaxValue);
        if (targetsTo < 0 || targetsTo > series.Length)
            throw new ArgumentOutOfRangeException(nameof(targetsTo), targetsTo, $"targetsTo must be within the series (0..{series.Length}).");
        if (targetsFrom < earliest)
            throw new ArgumentOutOfRangeException(nameof(targetsFrom), targetsFrom, $"targetsFrom must leave room for {earliest} input values before it.");
        if ((long)targetsFrom + horizon > targetsTo)
            throw new ArgumentException(
                $"The series has {series.Length} values; no window of {window} inputs{(lookback > 0 ? $" (+{lookback} before them)" : "")} and {horizon} targets fits with targets in [{targetsFrom}, {targetsTo}).", nameof(series));
        _series = series;
        Window = window;
        Horizon = horizon;
        Scaler = scaler;
        Stride = stride;
        FirstTarget = targetsFrom;
        Count = (int)(((long)targetsTo - horizon - targetsFrom) / stride + 1);
        int readFrom = targetsFrom - window - lookback, readTo = LastTarget + horizon;
        for (int i = readFrom; i < readTo; i++)
            if (!float.IsFinite(series[i]))
                throw new ArgumentException($"The series has {series[i]} at index {i}; windows need finite values (fill the gaps first).", nameof(series));
    }

    /// <summary>Input steps per sample.</summary>
    public int Window { get; }

    /// <summary>Target steps per sample.</summary>
    public int Horizon { get; }

    /// <summary>The scaling applied to each sample (null: raw values).</summary>
    public SeriesScaler? Scaler { get; }

    /// <summary>Distance between consecutive samples.</summary>
    public int Stride { get; }

    /// <summary>The number of samples.</summary>
    public int Count { get; }

    /// <summary>The series index of the first target of sample 0.</summary>
    public int FirstTarget { get; }

    /// <summary>The series index of the first target of the last sample.</summary>
    public int LastTarget => FirstTarget + (Count - 1) * Stride;

    /// <summary>The underlying series (not a copy).</summary>
    public ReadOnlySpan<float> Series => _series;

    /// <summary>The input shape of one sample: (window, 1).</summary>
    public int[] SampleShape => [Window, 1];

    /// <summary>The series index of sample <paramref name="sample"/>'s first target.</summary>
    public int TargetIndex(int sample) => FirstTarget + sample * Stride;

    /// <summary>The raw values sample <paramref name="sample"/> reads as inputs (lookback + window values).</summary>
    public ReadOnlySpan<float> History(int sample)
    {
        int lb = Scaler?.Lookback ?? 0;
        return _series.AsSpan(TargetIndex(sample) - Window - lb, Window + lb);
    }

    /// <summary>The raw (unscaled) targets of sample <paramref name="sample"/>.</summary>
    public ReadOnlySpan<float> RawTargets(int sample) => _series.AsSpan(TargetIndex(sample), Horizon);

    /// <summary>Writes sample <paramref name="sample"/>'s scaled inputs (window values) and targets (horizon values; may be empty to skip).</summary>
    public void Fill(int sample, Span<float> x, Span<float> y)
    {
        int t = TargetIndex(sample);
        if (Scaler is null)
        {
            _series.AsSpan(t - Window, Window).CopyTo(x);
            if (!y.IsEmpty) _series.AsSpan(t, Horizon).CopyTo(y);
            return;
        }
        int lb = Scaler.Lookback;
        var raw = _series.AsSpan(t - Window - lb, lb + Window + (y.IsEmpty ? 0 : Horizon));
        Scaler.Transform(raw, x, y);
    }

    /// <summary>Every sample as arrays: X (count, window, 1) and Y (count, horizon) — what the streaming paths cut on the fly.</summary>
    public DataSplit Materialize()
    {
        long size = (long)Count * Window;
        if (size > Array.MaxLength) throw new InvalidOperationException($"{Count} windows of {Window} values ({size}) do not fit in one array; train on the windows directly.");
        var x = new float[Count * Window];
        var y = new float[Count * Horizon];
        for (int i = 0; i < Count; i++) Fill(i, x.AsSpan(i * Window, Window), y.AsSpan(i * Horizon, Horizon));
        return new DataSplit(x, [Count, Window, 1], y, [Count, Horizon]);
    }

    /// <summary>Turns model outputs for these samples (count × horizon, row-major) back into series values.</summary>
    public float[] InverseForecasts(ReadOnlySpan<float> outputs)
    {
        if (outputs.Length != (long)Count * Horizon) throw new ArgumentException($"{outputs.Length} outputs for {Count} samples of horizon {Horizon}.", nameof(outputs));
        var result = new float[outputs.Length];
        for (int i = 0; i < Count; i++)
        {
            var o = outputs.Slice(i * Horizon, Horizon);
            var f = result.AsSpan(i * Horizon, Horizon);
            if (Scaler is null) o.CopyTo(f);
            else Scaler.Inverse(History(i), o, f);
        }
        return result;
    }
}

namespace Rnnx.Data;

/// <summary>
/// Sliding windows over a univariate time series for forecasting, like Keras's
/// <c>timeseries_dataset_from_array</c>: each sample is <c>window</c> consecutive values (inputs) followed by the next
/// <c>horizon</c> values (targets).
/// </summary>
public static class Windowing
{
    /// <summary>
    /// Windows over <paramref name="series"/>: X (N, window, 1) and Y (N, horizon), window i starting at i·stride, with
    /// N = ⌊(length − window − horizon) / stride⌋ + 1.
    /// </summary>
    /// <param name="series">The values, oldest first.</param>
    /// <param name="window">Input steps per sample.</param>
    /// <param name="horizon">Target steps per sample (1 for one-step forecasting).</param>
    /// <param name="stride">Distance between the starts of consecutive windows.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The series is shorter than window + horizon (the message gives both).</exception>
    public static DataSplit Make(ReadOnlySpan<float> series, int window, int horizon, int stride = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        if (series.Length < window + horizon)
            throw new ArgumentException(
                $"The series has {series.Length} values; windows of {window} inputs and {horizon} targets need at least {window + horizon}.", nameof(series));
        int n = (series.Length - window - horizon) / stride + 1;
        var x = new float[n * window];
        var y = new float[n * horizon];
        for (int i = 0; i < n; i++)
        {
            int s = i * stride;
            series.Slice(s, window).CopyTo(x.AsSpan(i * window));
            series.Slice(s + window, horizon).CopyTo(y.AsSpan(i * horizon));
        }
        return new DataSplit(x, [n, window, 1], y, [n, horizon]);
    }

    /// <summary>
    /// Splits the series in time order and windows each part: the last <paramref name="validationFraction"/> of the
    /// values are validation targets, so no validation target is ever seen in training. Validation windows may take
    /// their inputs from the end of the training part (as a forecast at that time would).
    /// </summary>
    /// <param name="series">The values, oldest first.</param>
    /// <param name="window">Input steps per sample.</param>
    /// <param name="horizon">Target steps per sample.</param>
    /// <param name="validationFraction">Share of the values whose windows form the validation set, in (0, 1).</param>
    /// <param name="stride">Distance between window starts.</param>
    /// <returns>The two parts and the cut: training targets are the values before <see cref="WindowSplit.Cut"/>, validation targets those from it.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the fraction is outside (0, 1) (the parameter is named).</exception>
    /// <exception cref="ArgumentException">Either part is too short for one window (the message gives the lengths needed).</exception>
    public static WindowSplit MakeSplit(ReadOnlySpan<float> series, int window, int horizon, double validationFraction = 0.2, int stride = 1)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        int validCount = (int)Math.Round(series.Length * validationFraction);
        int cut = series.Length - validCount;
        if (cut < (long)window + horizon || validCount < horizon)
            throw new ArgumentException(
                $"The series has {series.Length} values; with {validationFraction:P0} kept for validation, windows of {window} inputs and {horizon} targets " +
                $"need at least {MinimumLength(window, horizon, validationFraction)} values.", nameof(series));
        var train = Make(series[..cut], window, horizon, stride);
        var valid = Make(series[(cut - window)..], window, horizon, stride);
        return new WindowSplit(train, valid, cut);
    }

    /// <summary>
    /// The shortest series that <see cref="MakeSplit"/> accepts for these sizes (a long: it may exceed any array).
    /// Computed in closed form, so huge sizes answer at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the fraction is outside (0, 1).</exception>
    public static long MinimumLength(int window, int horizon, double validationFraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1).");
        // n - round(n f) >= w + h and round(n f) >= h: start just below the real-valued bound and step up.
        double bound = Math.Max((window + (double)horizon) / (1 - validationFraction), (horizon - 0.5) / validationFraction);
        for (long n = Math.Max(window + (long)horizon, (long)bound - 2); ; n++)
        {
            long validCount = (long)Math.Round(n * validationFraction);
            if (n - validCount >= window + (long)horizon && validCount >= horizon) return n;
        }
    }

    /// <summary>
    /// Where a series of <paramref name="length"/> values is cut into training, validation and test parts, in time
    /// order: the last <paramref name="testFraction"/> of the values are test targets, the
    /// <paramref name="validationFraction"/> before them validation targets (see <see cref="SeriesSplit"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction outside [0, 1) or the two summing to 1 or more; a negative length.</exception>
    public static SeriesSplit SplitPoints(int length, double validationFraction, double testFraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in [0, 1).");
        if (!(testFraction >= 0 && testFraction < 1 && validationFraction + testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "testFraction must be in [0, 1) and leave a training part beside validationFraction.");
        int test = (int)Math.Round(length * testFraction);
        int valid = (int)Math.Round(length * validationFraction);
        return new SeriesSplit(length - test - valid, length - test, length);
    }

    /// <summary>Mean and (population) standard deviation of a series, for standardizing it before training; std is 1 for a constant series.</summary>
    public static (double Mean, double Std) Statistics(ReadOnlySpan<float> series)
    {
        if (series.IsEmpty) throw new ArgumentException("The series is empty.", nameof(series));
        double mean = 0;
        foreach (var v in series) mean += v;
        mean /= series.Length;
        double var = 0;
        foreach (var v in series) var += (v - mean) * (v - mean);
        double std = Math.Sqrt(var / series.Length);
        return (mean, std > 0 && double.IsFinite(std) ? std : 1.0);
    }
}

/// <summary>The result of <see cref="Windowing.MakeSplit"/>: training and validation windows and the cut between their targets.</summary>
/// <param name="Train">Windows whose targets all lie before <paramref name="Cut"/>.</param>
/// <param name="Valid">Windows whose targets all lie at or after <paramref name="Cut"/> (inputs may start before it).</param>
/// <param name="Cut">The index of the first validation target in the series (= the number of training values).</param>
public sealed record WindowSplit(DataSplit Train, DataSplit Valid, int Cut)
{
    /// <summary>Deconstructs into the two parts, as the earlier tuple result did.</summary>
    public void Deconstruct(out DataSplit train, out DataSplit valid) => (train, valid) = (Train, Valid);
}

/// <summary>
/// Cut points of a series split in time order: targets in [0, <paramref name="TrainEnd"/>) train, targets in
/// [<paramref name="TrainEnd"/>, <paramref name="ValidEnd"/>) validate (early stopping), targets in
/// [<paramref name="ValidEnd"/>, <paramref name="Length"/>) test (never seen before the final report). Windows of a
/// later part may read inputs from the end of the part before, as a forecast made then would.
/// </summary>
/// <param name="TrainEnd">One past the last training value; the scaler is fitted on [0, TrainEnd).</param>
/// <param name="ValidEnd">One past the last validation value (the first test value).</param>
/// <param name="Length">The series length.</param>
public readonly record struct SeriesSplit(int TrainEnd, int ValidEnd, int Length);

using Rnnx.Data;

namespace Rnnx.Forecasting;

/// <summary>
/// The reference forecasts every model is compared with (Hyndman &amp; Athanasopoulos, "Forecasting: Principles and
/// Practice", 3rd ed., section 5.2): naive (every step equals the last observed value) and seasonal naive (every step
/// equals the observation one season earlier). Both read the series before each sample's first target, as a forecast
/// made at that time could.
/// </summary>
public static class Baselines
{
    /// <summary>Naive forecasts of every sample of <paramref name="windows"/>: (count × horizon), row-major.</summary>
    public static float[] Naive(SeriesWindows windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var series = windows.Series;
        var f = new float[windows.Count * windows.Horizon];
        for (int i = 0; i < windows.Count; i++)
            f.AsSpan(i * windows.Horizon, windows.Horizon).Fill(series[windows.TargetIndex(i) - 1]);
        return f;
    }

    /// <summary>
    /// Seasonal-naive forecasts: step k (0-based) of a sample whose first target is t gets
    /// y[t + k − m·⌈(k + 1)/m⌉], the last observed value of the same season.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="season"/> is not positive or reaches before the series for the first sample.</exception>
    public static float[] SeasonalNaive(SeriesWindows windows, int season)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(season);
        if (season > windows.FirstTarget)
            throw new ArgumentOutOfRangeException(nameof(season), season, $"a season of {season} reaches before the start of the series (the first forecast is at index {windows.FirstTarget}).");
        var series = windows.Series;
        int h = windows.Horizon;
        var f = new float[windows.Count * h];
        for (int i = 0; i < windows.Count; i++)
        {
            int t = windows.TargetIndex(i);
            for (int k = 0; k < h; k++) f[i * h + k] = series[t + k - season * ((k + season) / season)];
        }
        return f;
    }

    /// <summary>
    /// The season of a series from its autocorrelation function (ACF): the values minus their least-squares quadratic
    /// trend (a trend would otherwise make every lag look alike), then, among the lags in [2, <paramref name="maxLag"/>]
    /// where the ACF has a local peak of at least <paramref name="threshold"/>, the shortest whose ACF is within 90% of
    /// the highest peak (so a season wins over its multiples). 1 (no season: seasonal naive is naive) when no lag qualifies.
    /// </summary>
    /// <param name="training">The values to look at (the training part only: the test part must stay unseen).</param>
    /// <param name="maxLag">The longest season considered; at most a third of the values are used as lags.</param>
    /// <param name="threshold">The smallest autocorrelation that counts as a season.</param>
    public static int DetectSeason(ReadOnlySpan<float> training, int maxLag = 400, double threshold = 0.2)
    {
        int n = training.Length;
        if (n < 9) return 1;
        var d = Detrended(training);
        double var = 0;
        foreach (var v in d) var += v * v;
        if (!(var > 0)) return 1;
        int top = Math.Min(maxLag, n / 3);
        var acf = new double[top + 2];
        for (int lag = 1; lag <= top + 1; lag++)
        {
            double s = 0;
            for (int i = lag; i < n; i++) s += d[i] * d[i - lag];
            acf[lag] = s / var;
        }
        var peaks = new List<int>();
        for (int lag = 2; lag <= top; lag++)
            if (acf[lag] >= threshold && acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1]) peaks.Add(lag);
        if (peaks.Count == 0) return 1;
        double highest = peaks.Max(l => acf[l]);
        return peaks.First(l => acf[l] >= 0.9 * highest);
    }

    /// <summary>The values minus their least-squares quadratic in time (then centered).</summary>
    private static double[] Detrended(ReadOnlySpan<float> x)
    {
        int n = x.Length;
        // Normal equations for a + b t + c t² on t in [-1, 1] (well conditioned), solved by Cramer's rule.
        double s0 = n, s1 = 0, s2 = 0, s3 = 0, s4 = 0, y0 = 0, y1 = 0, y2 = 0;
        for (int i = 0; i < n; i++)
        {
            double t = n == 1 ? 0 : 2.0 * i / (n - 1) - 1, t2 = t * t;
            s1 += t; s2 += t2; s3 += t2 * t; s4 += t2 * t2;
            y0 += x[i]; y1 += x[i] * t; y2 += x[i] * t2;
        }
        static double Det(double a, double b, double c, double d, double e, double f, double g, double h, double k) =>
            a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
        double det = Det(s0, s1, s2, s1, s2, s3, s2, s3, s4);
        double ca = Det(y0, s1, s2, y1, s2, s3, y2, s3, s4) / det;
        double cb = Det(s0, y0, s2, s1, y1, s3, s2, y2, s4) / det;
        double cc = Det(s0, s1, y0, s1, s2, y1, s2, s3, y2) / det;
        var d = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            double t = n == 1 ? 0 : 2.0 * i / (n - 1) - 1;
            mean += d[i] = x[i] - (ca + cb * t + cc * t * t);
        }
        mean /= n;
        for (int i = 0; i < n; i++) d[i] -= mean;
        return d;
    }
}

namespace Rnnx.Forecasting;

/// <summary>
/// Point-forecast errors over every target step of a set of samples, in the series' units.
/// </summary>
/// <param name="Mse">Mean squared error.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="Mase">
/// Mean absolute scaled error (Hyndman &amp; Koehler 2006): MAE divided by the in-sample MAE of the one-season-back
/// forecast on the training part (the M4 competition's scaling). Below 1: better on average than that in-sample
/// seasonal-naive forecast.
/// </param>
public readonly record struct ForecastErrors(double Mse, double Mae, double Mase)
{
    /// <summary>The errors of <paramref name="forecast"/> against <paramref name="actual"/>, MASE scaled by <paramref name="maseScale"/>.</summary>
    /// <exception cref="ArgumentException">Different lengths, or no values.</exception>
    public static ForecastErrors Of(ReadOnlySpan<float> forecast, ReadOnlySpan<float> actual, double maseScale)
    {
        if (forecast.Length != actual.Length) throw new ArgumentException($"{forecast.Length} forecasts for {actual.Length} actual values.", nameof(forecast));
        if (forecast.IsEmpty) throw new ArgumentException("No values to compare.", nameof(forecast));
        double se = 0, ae = 0;
        for (int i = 0; i < forecast.Length; i++)
        {
            double e = (double)forecast[i] - actual[i];
            se += e * e;
            ae += Math.Abs(e);
        }
        double mae = ae / forecast.Length;
        return new ForecastErrors(se / forecast.Length, mae, mae / maseScale);
    }

    /// <summary>
    /// MASE's denominator: the mean |y[t] − y[t − m]| over <paramref name="training"/> (m = <paramref name="season"/>,
    /// or 1 when the training part is too short for it); 1 when that is 0 (a constant series).
    /// </summary>
    public static double MaseScale(ReadOnlySpan<float> training, int season)
    {
        int m = season >= 1 && season < training.Length ? season : 1;
        if (training.Length <= m) return 1;
        double s = 0;
        for (int i = m; i < training.Length; i++) s += Math.Abs((double)training[i] - training[i - m]);
        s /= training.Length - m;
        return s > 0 && double.IsFinite(s) ? s : 1;
    }
}

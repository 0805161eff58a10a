using ScottPlot;

namespace Rnnx.Cli;

/// <summary>The plot of <c>rnnx forecast</c>: the recent history and the forecast that continues it.</summary>
internal static class ForecastPlot
{
    /// <summary>
    /// Writes a PNG: the last values of the series (black) and the forecast (dashed red), against their dates when
    /// <paramref name="dates"/> and <paramref name="forecastDates"/> are given, else against the row index.
    /// </summary>
    public static void Save(string path, string title, float[] series, float[] forecast, int historyShown, DateTime[]? dates = null, DateTime?[]? forecastDates = null)
    {
        int start = Math.Max(0, series.Length - historyShown);
        bool dated = dates is not null && forecastDates is not null && forecastDates.All(d => d is not null);
        double X(int row) => dated ? (row < series.Length ? dates![row] : forecastDates![row - series.Length]!.Value).ToOADate() : row;
        var plt = new Plot();
        var hx = Enumerable.Range(start, series.Length - start).Select(X).ToArray();
        var history = plt.Add.Scatter(hx, series[start..].Select(v => (double)v).ToArray(), Colors.Black);
        history.MarkerSize = 3;
        history.LegendText = "series";
        // The forecast line starts from the last observed value so that it visibly continues the series.
        var fx = Enumerable.Range(series.Length - 1, forecast.Length + 1).Select(X).ToArray();
        var fy = new[] { (double)series[^1] }.Concat(forecast.Select(v => (double)v)).ToArray();
        var f = plt.Add.Scatter(fx, fy, Colors.Red);
        f.LinePattern = LinePattern.Dashed;
        f.MarkerShape = MarkerShape.FilledCircle;
        f.MarkerSize = 5;
        f.LegendText = "forecast";
        if (dated)
        {
            // ISO dates on the axis, not the invariant culture's month/day/year.
            var axis = plt.Axes.DateTimeTicksBottom();
            if (axis.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic ticks)
                ticks.LabelFormatter = d => d.ToString(d.TimeOfDay == TimeSpan.Zero ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        }
        plt.Title(title, 16);
        plt.XLabel(dated ? "date" : "row", 14);
        plt.YLabel("value", 14);
        plt.ShowLegend(Alignment.UpperLeft);
        plt.SavePng(path, 900, 500);
    }
}

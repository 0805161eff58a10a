using ScottPlot;

namespace Rnnx.Cli;

/// <summary>The plot of <c>rnnx forecast</c>: the recent history and the forecast that continues it.</summary>
internal static class ForecastPlot
{
    /// <summary>Writes a PNG: the last values of the series (black) and the forecast (dashed red), indexed by row.</summary>
    public static void Save(string path, string title, float[] series, float[] forecast, int historyShown)
    {
        int start = Math.Max(0, series.Length - historyShown);
        var plt = new Plot();
        var hx = Enumerable.Range(start, series.Length - start).Select(i => (double)i).ToArray();
        var history = plt.Add.Scatter(hx, series[start..].Select(v => (double)v).ToArray(), Colors.Black);
        history.MarkerSize = 3;
        history.LegendText = "series";
        // The forecast line starts from the last observed value so that it visibly continues the series.
        var fx = Enumerable.Range(series.Length - 1, forecast.Length + 1).Select(i => (double)i).ToArray();
        var fy = new[] { (double)series[^1] }.Concat(forecast.Select(v => (double)v)).ToArray();
        var f = plt.Add.Scatter(fx, fy, Colors.Red);
        f.LinePattern = LinePattern.Dashed;
        f.MarkerShape = MarkerShape.FilledCircle;
        f.MarkerSize = 5;
        f.LegendText = "forecast";
        plt.Title(title, 16);
        plt.XLabel("row", 14);
        plt.YLabel("value", 14);
        plt.ShowLegend(Alignment.UpperLeft);
        plt.SavePng(path, 900, 500);
    }
}

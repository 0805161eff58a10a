using ScottPlot;

namespace Rnnx.Cli;

/// <summary>The notebook's figures as PNG files (ScottPlot), sized like its matplotlib figures at 100 dpi.</summary>
internal sealed class ChapterPlots(string directory)
{
    private const string ForecastTitle = "Forecasting several time steps ahead";

    /// <summary>Full paths of the files written so far.</summary>
    public List<string> Written { get; } = [];

    /// <summary>The three mock series (green, blue, red), as <c>plt.plot(x[i, :])</c>.</summary>
    public void MockSeries(float[] series, int count, int steps)
    {
        var plt = new Plot();
        Color[] colors = [Colors.Green, Colors.Blue, Colors.Red];
        for (int s = 0; s < count; s++)
        {
            var line = plt.Add.Scatter(Range(0, steps), ToDouble(series.AsSpan(s * steps, steps)), colors[s % colors.Length]);
            line.MarkerSize = 0;
            line.LineWidth = 1.5f;
        }
        Labels(plt, "Mock time series", "time", "value");
        Save(plt, "mock_series.png", 800, 500);
    }

    /// <summary>Every History series per epoch, as <c>pd.DataFrame(history.history).plot()</c>.</summary>
    public void LearningCurves(string model, IReadOnlyList<(string Key, IReadOnlyList<double> Values)> history)
    {
        var plt = new Plot();
        foreach (var (key, values) in history)
        {
            var line = plt.Add.Scatter(Range(0, values.Count), values.ToArray());
            line.LegendText = key;
            line.LineWidth = 2;
            line.MarkerSize = values.Count == 1 ? 8 : 4;
        }
        Labels(plt, $"{model}: learning curves", "epoch", "");
        plt.ShowLegend(Alignment.UpperRight);
        Save(plt, $"learning_curves_{model}.png", 800, 600);
    }

    /// <summary>
    /// The new series (<c>'k-o'</c>), its true next steps (<c>'g--x'</c>, "real") and a forecast (<c>'r--o'</c>, "forecast").
    /// </summary>
    public void Forecast(string fileName, string subtitle, float[] xNew, float[] yNew, float[] yPred)
    {
        var plt = new Plot();
        var history = plt.Add.Scatter(Range(0, xNew.Length), ToDouble(xNew), Colors.Black);
        history.MarkerShape = MarkerShape.FilledCircle;
        history.MarkerSize = 5;
        var real = plt.Add.Scatter(Range(xNew.Length, yNew.Length), ToDouble(yNew), Colors.Green);
        real.LinePattern = LinePattern.Dashed;
        real.MarkerShape = MarkerShape.Eks;
        real.MarkerSize = 8;
        real.LegendText = "real";
        var forecast = plt.Add.Scatter(Range(xNew.Length, yPred.Length), ToDouble(yPred), Colors.Red);
        forecast.LinePattern = LinePattern.Dashed;
        forecast.MarkerShape = MarkerShape.FilledCircle;
        forecast.MarkerSize = 5;
        forecast.LegendText = "forecast";
        Labels(plt, $"{ForecastTitle}\n({subtitle})", "time step", "value");
        plt.ShowLegend(Alignment.UpperLeft);
        Save(plt, fileName, 800, 500);
    }

    /// <summary>
    /// A sequence-to-sequence model's forecasts on the new series: the series <paramref name="x"/> in black, then for each
    /// horizon i = 1..10 the forecasts of every step, dashed red at half opacity, at x positions
    /// <paramref name="position"/>(t, i) (the notebook's <c>range(i, T + i)</c>, or <c>x * 2 - i + 2</c> for the strided Conv1D model).
    /// </summary>
    /// <param name="fileName">The PNG name.</param>
    /// <param name="model">The model name, for the title.</param>
    /// <param name="x">The black series (the notebook plots its <c>X</c>: the new series extended by the linear model's iterative forecast).</param>
    /// <param name="yPred">Predictions (1, steps, horizons) flat.</param>
    /// <param name="steps">Output steps.</param>
    /// <param name="horizons">Forecast horizons (10).</param>
    /// <param name="position">Maps (x, i), with x in <c>range(i, steps + i)</c>, to the plotted time step.</param>
    public void SequenceForecast(string fileName, string model, float[] x, float[] yPred, int steps, int horizons, Func<int, int, double> position)
    {
        var plt = new Plot();
        var series = plt.Add.Scatter(Range(0, x.Length), ToDouble(x), Colors.Black);
        series.MarkerSize = 0;
        series.LineWidth = 1.5f;
        var red = Colors.Red.WithAlpha(0.5);
        for (int i = 1; i <= horizons; i++)
        {
            var xs = new double[steps];
            var ys = new double[steps];
            for (int t = 0; t < steps; t++)
            {
                xs[t] = position(t + i, i);
                ys[t] = yPred[t * horizons + i - 1];
            }
            var line = plt.Add.Scatter(xs, ys, red);
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 0;
            line.LineWidth = 1.5f;
        }
        Labels(plt, $"{ForecastTitle}\n({model})", "time step", "value");
        Save(plt, fileName, 800, 500);
    }

    private static void Labels(Plot plt, string title, string xLabel, string yLabel)
    {
        plt.Title(title, 18);
        plt.XLabel(xLabel, 14);
        if (yLabel.Length > 0) plt.YLabel(yLabel, 14);
    }

    private void Save(Plot plt, string fileName, int width, int height)
    {
        string path = Path.Combine(directory, fileName);
        plt.SavePng(path, width, height);
        Written.Add(path);
    }

    private static double[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (double)i).ToArray();

    private static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var r = new double[values.Length];
        for (int i = 0; i < r.Length; i++) r[i] = values[i];
        return r;
    }
}

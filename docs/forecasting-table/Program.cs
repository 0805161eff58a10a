// The table of docs/forecasting.md. Usage (from the repository root):
//   dotnet run -c Release --project docs/forecasting-table -- [--series NAME,...] [--arch A,...] [--scaling S,...] [--transform T,...] [--epochs N]
//   dotnet run -c Release --project docs/forecasting-table -- --memory ROWS   (streaming: one epoch on ROWS values, window 200)
// Every run: the series split 60/20/20 in time order, the scaler fitted on the first 60%, training with Nadam and
// early stopping on the validation part (best weights kept), then MSE/MAE/MASE on the test part beside the naive and
// seasonal-naive baselines on the same test samples. Deterministic (fixed seeds), so a rerun gives the same table.
using System.Diagnostics;
using System.Globalization;
using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var series = new (string Name, string File, string Column, int Window)[]
{
    ("nottem", "nottem.csv", "temp_f", 24),
    ("co2 (monthly)", "co2_monthly.csv", "co2_ppm", 24),
    ("co2 (weekly)", "co2_weekly.csv", "co2_ppm", 64),
    ("sunspot.month", "sunspot_month.csv", "sunspots", 48),
    ("AirPassengers", "air_passengers.csv", "passengers", 24),
};
string[] archs = ["linear", "lstm", "gru", "conv_rnn"];
SeriesScaling[] scalings = [SeriesScaling.Standard, SeriesScaling.LastValue, SeriesScaling.Difference];
SeriesTransformKind[] transforms = [SeriesTransformKind.None];
int epochs = 100, patience = 10, horizon = 6;
string dataDir = Path.Combine("docs", "data");
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--series": var names = Next().Split(','); series = series.Where(s => names.Contains(s.File.Replace(".csv", ""))).ToArray(); break;
        case "--arch": archs = Next().Split(','); break;
        case "--scaling": scalings = Next().Split(',').Select(SeriesScaler.Parse).ToArray(); break;
        case "--transform": transforms = Next().Split(',').Select(SeriesTransform.ParseKind).ToArray(); break;
        case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--data": dataDir = Next(); break;
        case "--memory": return Memory(int.Parse(Next(), CultureInfo.InvariantCulture));
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

Console.WriteLine($"Horizon {horizon}, split 60/20/20, Nadam(1e-3), batch 32, up to {epochs} epochs with early stopping (patience {patience}, best weights), seed 42.");
Console.WriteLine();
Console.WriteLine("| series | values | window | season | model | scaling | test MSE | test MAE | MASE | vs naive (MSE) | vs seasonal naive (MSE) | epochs | time |");
Console.WriteLine("|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|");
foreach (var (name, file, column, window) in series)
{
    var values = SeriesCsv.Read(Path.Combine(dataDir, file), column).Values;
    ForecastComparison? baseline = null;
    foreach (var transform in transforms)
    foreach (var scaling in scalings)
        foreach (var arch in archs)
        {
            var data = ForecastData.Prepare(values, new ForecastSetup(window, horizon, scaling, Transform: transform));
            var model = ForecastModels.Create(arch, window, horizon, seed: 42);
            model.Compile(new Nadam(1e-3), Loss.MeanSquaredError);
            var sw = Stopwatch.StartNew();
            var history = model.Fit(data.Train, epochs, 32, validationData: data.Valid,
                callbacks: [new EarlyStopping(patience: patience, restoreBestWeights: true)], verbose: 0);
            var c = data.Evaluate(model);
            if (baseline is null)
            {
                baseline = c;
                Console.WriteLine($"| {name} | {values.Length} | {window} | {c.Season} | naive | - | {c.Naive.Mse:G4} | {c.Naive.Mae:G4} | {c.Naive.Mase:F3} | 1.00x | {c.Naive.Mse / c.SeasonalNaive.Mse:F2}x | - | - |");
                Console.WriteLine($"| {name} | {values.Length} | {window} | {c.Season} | seasonal naive | - | {c.SeasonalNaive.Mse:G4} | {c.SeasonalNaive.Mae:G4} | {c.SeasonalNaive.Mase:F3} | {c.SeasonalNaive.Mse / c.Naive.Mse:F2}x | 1.00x | - | - |");
            }
            string Mark(double r) => r <= 1 ? $"{r:F2}x" : $"**{r:F2}x**";
            Console.WriteLine($"| {name} | {values.Length} | {window} | {c.Season} | {arch} | {(transform == SeriesTransformKind.None ? "" : data.Transform + " + ")}{SeriesScaler.NameOf(scaling)} | {c.Model.Mse:G4} | {c.Model.Mae:G4} | {c.Model.Mase:F3} | " +
                $"{Mark(c.Model.Mse / c.Naive.Mse)} | {Mark(c.Model.Mse / c.SeasonalNaive.Mse)} | {history.Epochs} | {sw.Elapsed.TotalSeconds:F0}s |");
        }
}
Console.WriteLine();
Console.WriteLine("Ratios are the model's test MSE over the baseline's (below 1: the model wins); **bold**: the model loses.");
return 0;

// One epoch of a small model on a long synthetic series, batches cut on the fly: prints progress and the peak working set.
static int Memory(int rows)
{
    const int window = 200;
    var rng = new Rnnx.Random.NumPyRandomState(1);
    var values = new float[rows];
    double level = 0;
    for (int i = 0; i < rows; i++) values[i] = (float)((level += rng.StandardNormal()) + 5 * Math.Sin(2 * Math.PI * i / 24));
    var data = ForecastData.Prepare(values, new ForecastSetup(window, 1, SeriesScaling.LastValue, 0.1, 0.1, Season: 24));
    var model = ForecastModels.Create("linear", window, 1, seed: 42);
    model.Compile(new Nadam(1e-3), Loss.MeanSquaredError);
    var sw = Stopwatch.StartNew();
    int steps = 0;
    var progress = new LambdaCallback
    {
        TrainBegin = info => steps = info.StepsPerEpoch,
        BatchEnd = (_, b, logs) =>
        {
            if ((b + 1) % Math.Max(1, steps / 10) == 0 || b + 1 == steps)
                Console.WriteLine($"  batch {b + 1}/{steps} ({100.0 * (b + 1) / steps:F0}%), loss {logs["loss"]:G4}, {sw.Elapsed.TotalSeconds:F0}s, working set {Environment.WorkingSet / 1e6:F0} MB");
        },
    };
    Console.WriteLine($"{rows:N0} values, {data.Train.Count:N0} training windows of {window} (materialized they would take {(double)data.Train.Count * window * 4 / 1e9:F1} GB)");
    model.Fit(data.Train, epochs: 1, batchSize: 256, validationData: data.Valid, callbacks: [progress], verbose: 0);
    var c = data.Evaluate(model, 4096);
    using var self = Process.GetCurrentProcess();
    self.Refresh();
    Console.WriteLine($"1 epoch in {sw.Elapsed.TotalSeconds:F0}s; test MSE {c.Model.Mse:G4} (naive {c.Naive.Mse:G4}); peak working set {self.PeakWorkingSet64 / 1e6:F0} MB");
    return 0;
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Rnnx;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimizers;

// Load generator for the forecast service: N clients post one-series requests back to back for a fixed time against
// a service on this machine (loopback only), and every answer is checked against the same model's Predict, called
// here one request after another.
//   dotnet run -c Release --project examples/ForecastService.LoadTest -- --model model.rnnx --url http://127.0.0.1:5080
//       [--clients 50] [--seconds 30]
//   dotnet run -c Release --project examples/ForecastService.LoadTest -- --make-model model.rnnx
//       trains a small LSTM forecaster (10 steps ahead) on the chapter's series and saves it, to have something to serve
if (args is ["--make-model", var modelPath])
{
    MakeModel(modelPath);
    return 0;
}
var opts = Options.Parse(args);
if (opts is null) return 2;

var model = Sequential.Load(opts.Model, compile: false);
// the chapter's validation series (50 steps each) as requests
var valid = ChapterData.TenStep().Valid;
int steps = valid.XShape[1];
var series = Enumerable.Range(0, 256).Select(i => valid.X.AsSpan(i * steps, steps).ToArray()).ToArray();
int perStep = model.OutputShape![^1]!.Value;
var expected = series.Select(s =>
{
    var y = model.Predict(s, 1, s.Length, 1);
    return model.OutputShape.Length < 2 ? y : y.AsSpan(y.Length - perStep).ToArray();
}).ToArray();

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = opts.Clients, UseProxy = false })
{
    BaseAddress = opts.Url,
    Timeout = TimeSpan.FromSeconds(10),
};
var latencies = new List<double>[opts.Clients];
long ok = 0, wrong = 0, failed = 0;
string? firstProblem = null;
var end = Stopwatch.GetTimestamp() + (long)(opts.Seconds * Stopwatch.Frequency);
var started = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, opts.Clients).Select(async c =>
{
    var lat = latencies[c] = new List<double>(1 << 16);
    int i = c * 7;
    while (Stopwatch.GetTimestamp() < end)
    {
        i = (i + 1) % series.Length;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.PostAsJsonAsync("/forecast", new { series = series[i] });
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref firstProblem, $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null);
                continue;
            }
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            lat.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency);
            var forecast = body.GetProperty("forecast").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            if (forecast.AsSpan().SequenceEqual(expected[i])) Interlocked.Increment(ref ok);
            else
            {
                Interlocked.Increment(ref wrong);
                Interlocked.CompareExchange(ref firstProblem, $"series {i}: forecast differs from Predict", null);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref failed);
            Interlocked.CompareExchange(ref firstProblem, e.Message, null);
        }
    }
}));
double elapsed = started.Elapsed.TotalSeconds;
var all = latencies.SelectMany(l => l).Order().ToArray();
double Pct(double p) => all.Length == 0 ? double.NaN : all[(int)Math.Min(all.Length - 1, p * all.Length)];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{opts.Clients} clients, {elapsed:F1} s against {opts.Url}: {ok + wrong} answers, {(ok + wrong) / elapsed:F0} requests/s, " +
    $"p50 {Pct(0.50) / 1000:F2} ms, p99 {Pct(0.99) / 1000:F2} ms; {wrong} wrong forecasts, {failed} errors"));
if (firstProblem is not null) Console.WriteLine($"first problem: {firstProblem}");
return wrong == 0 && failed == 0 && ok > 0 ? 0 : 1;

static void MakeModel(string path)
{
    var data = ChapterData.TenStep();
    var model = new Sequential([new LSTM(20, returnSequences: true, inputShape: [null, 1]), new LSTM(20), new Dense(10)], "lstm_forecaster");
    model.Compile(new Adam(0.01), "mse");
    var x = Tensor.FromArray(data.Train.X, data.Train.XShape);
    var y = Tensor.FromArray(data.Train.Y, data.Train.YShape);
    var h = model.Fit(x, y, epochs: 3, validationData: (Tensor.FromArray(data.Valid.X, data.Valid.XShape), Tensor.FromArray(data.Valid.Y, data.Valid.YShape)), verbose: 1);
    model.Save(path);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved {path}: validation MSE {h["val_loss"][^1]:G4} (10 steps ahead)"));
}

internal sealed record Options(string Model, Uri Url, int Clients, double Seconds)
{
    public static Options? Parse(string[] args)
    {
        string? model = null, url = "http://127.0.0.1:5080";
        int clients = 50;
        double seconds = 30;
        try
        {
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--model": model = Next(); break;
                    case "--url": url = Next(); break;
                    case "--clients": clients = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    default: throw new FormatException($"unknown option {args[i]}");
                }
            }
            if (model is null) throw new FormatException("--model is required (the .rnnx file the service serves)");
            if (!File.Exists(model)) throw new FormatException($"model file not found: {model}");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.IsLoopback)
                throw new FormatException($"--url must be a loopback address such as http://127.0.0.1:5080 (got {url}): this tool only loads a service on this machine");
            if (clients is < 1 or > 1000) throw new FormatException($"--clients must be 1..1000, got {clients}");
            if (seconds is <= 0 or > 600) throw new FormatException($"--seconds must be in (0, 600], got {seconds}");
            return new Options(model, uri, clients, seconds);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("usage: --model FILE.rnnx [--url http://127.0.0.1:5080] [--clients 50] [--seconds 30]; or --make-model FILE.rnnx");
            return null;
        }
    }
}

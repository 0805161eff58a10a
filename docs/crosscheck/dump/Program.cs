// Dumps everything needed to replay one chapter model's training in another framework (torch_check.py):
// data, initial weights (Keras order), the per-epoch shuffle permutations Sequential.Fit uses, per-batch losses,
// per-epoch History and final weights. The models and training settings replicate Rnnx.Cli/ChapterModels.cs and
// Rnnx.Cli/ChapterRunner.Train (Nadam() Keras3 defaults, MSE, batch 32, shuffle, validation each epoch).
//
// usage: dotnet run -c Release -- <linear|deep_rnn|s2s_rnn> <seed> <outdir> [epochs]
using System.Globalization;
using System.Text;
using System.Text.Json;
using Rnnx;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;

string name = args[0];
int seed = int.Parse(args[1], CultureInfo.InvariantCulture);
string outDir = args[2];
Directory.CreateDirectory(outDir);

// ---- model specs, as Rnnx.Cli/ChapterModels.cs
(int epochs, bool seq, Func<Layer[]> layers) spec = name switch
{
    "linear" => (20, false, () => [new Flatten(inputShape: [50, 1]), new Dense(1)]),
    "deep_rnn" => (10, false, () => [new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20), new Dense(1)]),
    "s2s_rnn" => (13, true, () => [new SimpleRNN(20, returnSequences: true, inputShape: [null, 1]), new SimpleRNN(20, returnSequences: true), new TimeDistributed(new Dense(10))]),
    _ => throw new ArgumentException("model: linear, deep_rnn or s2s_rnn"),
};
int epochs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : spec.epochs;
const int batchSize = 32;

// ---- data, as ChapterRunner.Run / LoadData
DataSplit train, valid;
if (name is "linear" or "deep_rnn") { var d = ChapterData.OneStep(); (train, valid) = (d.Train, d.Valid); }
else { var d = ChapterData.TenStep(); (train, valid) = (d.TrainSequence, d.ValidSequence); }

Metric LastTimeStepMse() => Metric.FromFunction("last_time_step_mse",
    (yTrue, yPred) => Metric.MeanSquaredErrorValues(Tensor.Select(yTrue, 1, -1), Tensor.Select(yPred, 1, -1)));

Sequential NewModel()
{
    var m = new Sequential(spec.layers(), name, seed) { Threads = 1 };
    Metric[] metrics = spec.seq ? [LastTimeStepMse()] : [];
    m.Compile(new Nadam(), Loss.MeanSquaredError, metrics);
    m.Build();
    return m;
}

var xTrain = Tensor.FromArray(train.X, train.XShape);
var yTrain = Tensor.FromArray(train.Y, train.YShape);
var xValid = Tensor.FromArray(valid.X, valid.XShape);
var yValid = Tensor.FromArray(valid.Y, valid.YShape);
int n = train.Count;
int steps = (n + batchSize - 1) / batchSize;

Npy.Write(Path.Combine(outDir, "x_train.npy"), train.X, train.XShape);
Npy.Write(Path.Combine(outDir, "y_train.npy"), train.Y, train.YShape);
Npy.Write(Path.Combine(outDir, "x_valid.npy"), valid.X, valid.XShape);
Npy.Write(Path.Combine(outDir, "y_valid.npy"), valid.Y, valid.YShape);

// ---- run A: exactly the CLI's Fit call
var modelA = NewModel();
var named = modelA.NamedWeights().Select(w => w.Name).ToList();
var init = modelA.GetWeights();
for (int i = 0; i < init.Length; i++)
    Npy.Write(Path.Combine(outDir, $"w0_{i}.npy"), init[i].ToFloatArray(), init[i].Shape.ToArray());
var historyA = modelA.Fit(xTrain, yTrain, epochs, batchSize, shuffle: true, validationData: (xValid, yValid), verbose: 0);
var finalA = modelA.GetWeights();

// ---- the permutations: NumPyRandomState(Seed + 1), one Shuffle of 0..n-1 per epoch, as Sequential.Fit
var rng = new NumPyRandomState(unchecked((uint)seed + 1));
var perms = new int[epochs * n];
for (int e = 0; e < epochs; e++)
{
    var idx = perms.AsSpan(e * n, n);
    for (int i = 0; i < n; i++) idx[i] = i;
    rng.Shuffle(idx);
}
Npy.Write(Path.Combine(outDir, "perms.npy"), perms, [epochs, n]);
bool rngStateSame = modelA.ShuffleRngState!.Equals(rng.GetState());

// ---- run B: the same training replayed with TrainOnBatch on batches gathered in the recorded order.
// If the permutations are those Fit used, run B is bit-identical to run A (weights and epoch losses).
var modelB = NewModel();
var batchLoss = new double[epochs * steps];
var epochLossB = new double[epochs];
int xRow = train.X.Length / n, yRow = train.Y.Length / n;
for (int e = 0; e < epochs; e++)
{
    double total = 0;
    for (int b = 0; b < steps; b++)
    {
        int start = b * batchSize, count = Math.Min(batchSize, n - start);
        var xb = new float[count * xRow];
        var yb = new float[count * yRow];
        for (int i = 0; i < count; i++)
        {
            int r = perms[e * n + start + i];
            Array.Copy(train.X, r * xRow, xb, i * xRow, xRow);
            Array.Copy(train.Y, r * yRow, yb, i * yRow, yRow);
        }
        var xs = (int[])train.XShape.Clone(); xs[0] = count;
        var ys = (int[])train.YShape.Clone(); ys[0] = count;
        double loss = modelB.TrainOnBatch(Tensor.FromArray(xb, xs), Tensor.FromArray(yb, ys));
        batchLoss[e * steps + b] = loss;
        total += loss * count;
    }
    epochLossB[e] = total / n;
}
var finalB = modelB.GetWeights();
bool weightsSame = Enumerable.Range(0, finalA.Length).All(i => finalA[i].ToFloatArray().SequenceEqual(finalB[i].ToFloatArray()));
bool lossSame = historyA["loss"].SequenceEqual(epochLossB);
Npy.Write(Path.Combine(outDir, "batch_loss.npy"), batchLoss, [epochs, steps]);
for (int i = 0; i < finalA.Length; i++)
    Npy.Write(Path.Combine(outDir, $"wF_{i}.npy"), finalA[i].ToFloatArray(), finalA[i].Shape.ToArray());

// ---- final validation MSE from Predict, as ChapterRunner (np.mean of per-position MSE; here in double)
float[] pred = modelA.Predict(xValid).ToFloatArray();
int lastDim = valid.YShape[^1];
double sq = 0;
for (int i = 0; i < pred.Length; i++) { double d = (double)pred[i] - valid.Y[i]; sq += d * d; }
double valMse = sq / pred.Length;
double? lastStep = null;
if (spec.seq)
{
    int T = valid.YShape[1]; double s = 0;
    for (int nn = 0; nn < valid.Count; nn++)
        for (int k = 0; k < lastDim; k++) { int p = (nn * T + T - 1) * lastDim + k; double d = (double)pred[p] - valid.Y[p]; s += d * d; }
    lastStep = s / (valid.Count * lastDim);
}

var report = new Dictionary<string, object?>
{
    ["model"] = name, ["seed"] = seed, ["epochs"] = epochs, ["batch_size"] = batchSize, ["steps_per_epoch"] = steps,
    ["weight_names"] = named, ["n_weights"] = init.Length,
    ["history"] = historyA.Keys.ToDictionary(k => k, k => historyA[k].ToArray()),
    ["val_mse"] = valMse, ["last_time_step_mse"] = lastStep,
    ["check_rng_state_same"] = rngStateSame, ["check_replay_weights_bit_identical"] = weightsSame, ["check_replay_epoch_loss_identical"] = lossSame,
};
File.WriteAllText(Path.Combine(outDir, "rnnx.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"{name} seed {seed}: {epochs} epochs, {steps} steps/epoch; rng state same {rngStateSame}; replay bit-identical weights {weightsSame}, epoch losses {lossSame}");
Console.WriteLine($"  loss     {string.Join(" ", historyA["loss"].Select(v => v.ToString("G6", CultureInfo.InvariantCulture)))}");
Console.WriteLine($"  val_loss {string.Join(" ", historyA["val_loss"].Select(v => v.ToString("G6", CultureInfo.InvariantCulture)))}");
Console.WriteLine($"  val MSE {valMse.ToString("G8", CultureInfo.InvariantCulture)}{(lastStep is double l ? ", last_time_step_mse " + l.ToString("G8", CultureInfo.InvariantCulture) : "")}");

static class Npy
{
    public static void Write(string path, float[] data, int[] shape) => Write(path, "<f4", shape, MemoryMarshalBytes(data));
    public static void Write(string path, double[] data, int[] shape) => Write(path, "<f8", shape, MemoryMarshalBytes(data));
    public static void Write(string path, int[] data, int[] shape) => Write(path, "<i4", shape, MemoryMarshalBytes(data));

    static byte[] MemoryMarshalBytes<T>(T[] a) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()).ToArray();

    static void Write(string path, string descr, int[] shape, byte[] bytes)
    {
        string sh = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {sh}, }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(Encoding.ASCII.GetBytes(header));
        f.Write(bytes);
    }
}

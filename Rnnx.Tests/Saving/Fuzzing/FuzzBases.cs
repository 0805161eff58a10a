using Rnnx.Cli;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Saving;
using LNSimpleRNNCell = Rnnx.Cli.LNSimpleRNNCell;

namespace Rnnx.Tests.Saving.Fuzzing;

/// <summary>
/// A valid file the fuzzer mutates, with the architecture it was saved from (to build fresh targets for
/// <c>LoadWeights</c> and <c>RestoreCheckpoint</c>) and training data of the right shapes (for the resumed <c>Fit</c>).
/// </summary>
internal sealed record FuzzBase(string Name, byte[] Bytes, Func<Sequential> Target, Func<IOptimizer> Optimizer, Tensor X, Tensor Y)
{
    /// <summary>A fresh built model of the base's architecture, compiled when <paramref name="compiled"/>, single-threaded so allocations are measured on the calling thread.</summary>
    public Sequential NewTarget(bool compiled)
    {
        var m = Target();
        m.Threads = 1;
        if (compiled) m.Compile(Optimizer(), Losses.Loss.MeanSquaredError);
        m.Build(null, X.DType);
        return m;
    }

    /// <summary>Trained, then saved as a checkpoint (or weights only): recurrent, convolutional, custom-cell and float64 models with each optimizer.</summary>
    public static List<FuzzBase> All(string dir)
    {
        LNSimpleRNNCell.Register();
        var list = new List<FuzzBase>
        {
            Make(dir, "rnn_gru_nadam", () => new Sequential(new SimpleRNN(2, returnSequences: true, inputShape: [null, 1]), new GRU(2), new Dense(1)),
                () => new Nadam(), [4, 1], [1], DType.Float32, epoch: 1),
            Make(dir, "lstm_adam", () => new Sequential(new LSTM(3, inputShape: [null, 2]), new Dense(1)),
                () => new Adam(), [5, 2], [1], DType.Float32, epoch: 2),
            Make(dir, "conv_rmsprop_f64", () => new Sequential(new Conv1D(2, 3, inputShape: [6, 1]), new Flatten(), new Dense(1)),
                () => new RmsProp(momentum: 0.9, centered: true), [6, 1], [1], DType.Float64, epoch: 1),
            Make(dir, "lnrnn_sgd", () => new Sequential(new RNN(new LNSimpleRNNCell(3), inputShape: [null, 1]), new Dense(1)),
                () => new Sgd(momentum: 0.9), [4, 1], [1], DType.Float32, epoch: 3),
        };
        var weights = list[0];
        var m = weights.NewTarget(compiled: false);
        string path = Path.Combine(dir, "weights.safetensors");
        m.SaveWeights(path);
        list.Add(weights with { Name = "weights_only", Bytes = File.ReadAllBytes(path) });
        return list;
    }

    private static FuzzBase Make(string dir, string name, Func<Sequential> create, Func<IOptimizer> optimizer, int[] xShape, int[] yShape, DType dtype, int epoch)
    {
        var x = TestModels.Input(xShape, 8, dtype);
        var y = TestModels.Input(yShape, 8, dtype, 3);
        var m = create();
        m.Compile(optimizer(), Losses.Loss.MeanSquaredError);
        m.Fit(x, y, epochs: epoch, batchSize: 4, verbose: 0);
        string path = Path.Combine(dir, name + ".rnnx");
        m.Save(path, new SaveOptions { Epoch = epoch, Metadata = new Dictionary<string, string> { ["note"] = name } });
        return new FuzzBase(name, File.ReadAllBytes(path), create, optimizer, x, y);
    }
}

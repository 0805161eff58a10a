using Rnnx.Layers;
using Rnnx.Models;

namespace Rnnx.Tests.Models;

/// <summary>
/// Parameter counts (computed from the weight shapes the Keras layers build, keras-team/keras at 3422977a: keras/src/layers/core/dense.py,
/// rnn/simple_rnn.py, lstm.py, gru.py, convolutional/base_conv.py, normalization/layer_normalization.py; the
/// notebook prints no summary to take them from), Summary text, and Keras-style weight names and order of the chapter's models.
/// </summary>
public class ModelStructureTests
{
    private static readonly object[] Counts =
    [
        new object[] { "linear", 51 },
        new object[] { "simple_rnn", 3 },
        new object[] { "deep_rnn_dense_head", 1281 },
        new object[] { "deep_rnn_simple_rnn_head", 1282 },
        new object[] { "linear_10", 510 },
        new object[] { "seq_to_vector", 1470 },
        new object[] { "seq_to_seq", 1470 },
        new object[] { "ln_rnn", 1550 },
        new object[] { "lstm", 5250 },
        new object[] { "gru", 4110 },
        new object[] { "conv_gru", 5350 },
        new object[] { "wavenet", 6010 },
    ];

    internal static Sequential Create(string model) => model switch
    {
        "linear" => ChapterModels.Linear(),
        "simple_rnn" => ChapterModels.SimpleRnn(),
        "deep_rnn_dense_head" => ChapterModels.DeepRnn(),
        "deep_rnn_simple_rnn_head" => ChapterModels.DeepRnnSimpleRnnHead(),
        "linear_10" => ChapterModels.LinearTenSteps(),
        "seq_to_vector" => ChapterModels.SeqToVector(),
        "seq_to_seq" => ChapterModels.SeqToSeq(),
        "ln_rnn" => ChapterModels.LnRnn(),
        "lstm" => ChapterModels.Lstm(),
        "gru" => ChapterModels.Gru(),
        "conv_gru" => ChapterModels.ConvGru(),
        "wavenet" => ChapterModels.WaveNet(),
        _ => throw new ArgumentException(model),
    };

    [TestCaseSource(nameof(Counts))]
    public void CountParams_EqualsKeras(string model, int expected)
    {
        var m = Create(model);
        m.Build();
        Assert.That(m.CountParams(), Is.EqualTo(expected));
        Assert.That(m.Weights.Sum(p => p.Size), Is.EqualTo(expected));
        Assert.That(m.TrainableWeights.Sum(p => p.Size), Is.EqualTo(expected));
        Assert.That(m.Summary(), Does.Contain($"Total params: {expected:N0}"));
        Assert.That(m.Summary(), Does.Contain($"Trainable params: {expected:N0}"));
        Assert.That(m.Summary(), Does.Contain("Non-trainable params: 0"));
    }

    [Test]
    public void PerLayerCounts_MatchTheSection12Breakdown()
    {
        Assert.That(PerLayer(ChapterModels.DeepRnnSimpleRnnHead()), Is.EqualTo(new[] { 440, 820, 22 }));
        Assert.That(PerLayer(ChapterModels.DeepRnn()), Is.EqualTo(new[] { 440, 820, 21 }));
        Assert.That(PerLayer(ChapterModels.LnRnn()), Is.EqualTo(new[] { 480, 860, 210 }));
        Assert.That(PerLayer(ChapterModels.Lstm()), Is.EqualTo(new[] { 1760, 3280, 210 }));
        Assert.That(PerLayer(ChapterModels.Gru()), Is.EqualTo(new[] { 1380, 2520, 210 }));
        Assert.That(PerLayer(ChapterModels.ConvGru()), Is.EqualTo(new[] { 100, 2520, 2520, 210 }));
        Assert.That(PerLayer(ChapterModels.WaveNet()).Where(c => c > 0), Is.EqualTo(new[] { 60, 820, 820, 820, 820, 820, 820, 820, 210 }));

        static int[] PerLayer(Sequential m)
        {
            m.Build();
            return m.Layers.Select(l => l.CountParams()).ToArray();
        }
    }

    [Test]
    public void OutputShapes_AreTheChapterShapes()
    {
        Assert.That(Built(ChapterModels.Linear()).OutputShape, Is.EqualTo(new int?[] { 1 }));
        Assert.That(Built(ChapterModels.LinearTenSteps()).OutputShape, Is.EqualTo(new int?[] { 10 }));
        Assert.That(Built(ChapterModels.SimpleRnn()).OutputShape, Is.EqualTo(new int?[] { 1 }));
        Assert.That(Built(ChapterModels.SeqToVector()).OutputShape, Is.EqualTo(new int?[] { 10 }));
        Assert.That(Built(ChapterModels.SeqToSeq()).OutputShape, Is.EqualTo(new int?[] { null, 10 }));
        Assert.That(Built(ChapterModels.Lstm()).OutputShape, Is.EqualTo(new int?[] { null, 10 }));
        Assert.That(Built(ChapterModels.WaveNet()).OutputShape, Is.EqualTo(new int?[] { null, 10 }));
        var conv = ChapterModels.ConvGru();
        conv.Build([50, 1]);
        Assert.That(conv.OutputShape, Is.EqualTo(new int?[] { 24, 10 }), "Conv1D(k4, s2, valid) on 50 steps gives 24");

        static Sequential Built(Sequential m)
        {
            m.Build();
            return m;
        }
    }

    [Test]
    public void Summary_ShowsNamesTypesOutputShapesAndCounts()
    {
        var m = ChapterModels.SeqToSeq();
        m.Build();
        string s = m.Summary();
        TestContext.Out.WriteLine(s);
        Assert.That(s, Does.Contain("Model: \"s2s_rnn\""));
        Assert.That(s, Does.Contain("simple_rnn (SimpleRNN)"));
        Assert.That(s, Does.Contain("simple_rnn_1 (SimpleRNN)"));
        Assert.That(s, Does.Contain("time_distributed (TimeDistributed)"));
        Assert.That(s, Does.Match(@"simple_rnn \(SimpleRNN\)\s+\(None, None, 20\)\s+440\b"));
        Assert.That(s, Does.Match(@"simple_rnn_1 \(SimpleRNN\)\s+\(None, None, 20\)\s+820\b"));
        Assert.That(s, Does.Match(@"time_distributed \(TimeDistributed\)\s+\(None, None, 10\)\s+210\b"));
        Assert.That(s, Does.Contain("Total params: 1,470"));

        var lin = ChapterModels.Linear();
        lin.Build();
        string t = lin.Summary();
        Assert.That(t, Does.Match(@"flatten \(Flatten\)\s+\(None, 50\)\s+0\b"));
        Assert.That(t, Does.Match(@"dense \(Dense\)\s+\(None, 1\)\s+51\b"));

        var conv = ChapterModels.ConvGru();
        conv.Build();
        string c = conv.Summary();
        Assert.That(c, Does.Match(@"conv1d \(Conv1D\)\s+\(None, None, 20\)\s+100\b"));
        Assert.That(c, Does.Match(@"gru_1 \(GRU\)\s+\(None, None, 20\)\s+2,520"));
        Assert.That(c, Does.Contain("Total params: 5,350"));

        var deep = ChapterModels.DeepRnn();
        deep.Build();
        Assert.That(deep.Summary(), Does.Match(@"simple_rnn_1 \(SimpleRNN\)\s+\(None, 20\)\s+820\b"));
    }

    [Test]
    public void Summary_OfWaveNet_ListsTheConvStackWithoutTheInputLayerRow()
    {
        var m = ChapterModels.WaveNet();
        m.Build();
        string s = m.Summary();
        TestContext.Out.WriteLine(s);
        // Keras does not list the InputLayer as a row of a Sequential model's summary.
        Assert.That(s, Does.Not.Contain("InputLayer"));
        Assert.That(s, Does.Match(@"conv1d \(Conv1D\)\s+\(None, None, 20\)\s+60\b"));
        Assert.That(s, Does.Match(@"conv1d_7 \(Conv1D\)\s+\(None, None, 20\)\s+820\b"));
        Assert.That(s, Does.Match(@"conv1d_8 \(Conv1D\)\s+\(None, None, 10\)\s+210\b"));
        Assert.That(s, Does.Contain("Total params: 6,010"));
    }

    // ------------------------------------------------------------------ weight names

    [Test]
    public void NamedWeights_BuiltInRecurrentLayers_AreLayerSlashWeight()
    {
        Assert.That(Names(ChapterModels.Lstm()), Is.EqualTo(new[]
        {
            "lstm/kernel", "lstm/recurrent_kernel", "lstm/bias",
            "lstm_1/kernel", "lstm_1/recurrent_kernel", "lstm_1/bias",
            "time_distributed/kernel", "time_distributed/bias",
        }));
        Assert.That(Names(ChapterModels.DeepRnn()), Is.EqualTo(new[]
        {
            "simple_rnn/kernel", "simple_rnn/recurrent_kernel", "simple_rnn/bias",
            "simple_rnn_1/kernel", "simple_rnn_1/recurrent_kernel", "simple_rnn_1/bias",
            "dense/kernel", "dense/bias",
        }));
        Assert.That(Names(ChapterModels.ConvGru()), Is.EqualTo(new[]
        {
            "conv1d/kernel", "conv1d/bias",
            "gru/kernel", "gru/recurrent_kernel", "gru/bias",
            "gru_1/kernel", "gru_1/recurrent_kernel", "gru_1/bias",
            "time_distributed/kernel", "time_distributed/bias",
        }));
    }

    [Test]
    public void NamedWeights_CustomCell_NestsCellAndSubLayerNames()
    {
        var m = ChapterModels.LnRnn();
        m.Build();
        var named = m.NamedWeights();
        Assert.That(named.Select(n => n.Name), Is.EqualTo(new[]
        {
            "rnn/ln_simple_rnn_cell/simple_rnn_cell/kernel",
            "rnn/ln_simple_rnn_cell/simple_rnn_cell/recurrent_kernel",
            "rnn/ln_simple_rnn_cell/simple_rnn_cell/bias",
            "rnn/ln_simple_rnn_cell/layer_normalization/gamma",
            "rnn/ln_simple_rnn_cell/layer_normalization/beta",
            "rnn_1/ln_simple_rnn_cell/simple_rnn_cell/kernel",
            "rnn_1/ln_simple_rnn_cell/simple_rnn_cell/recurrent_kernel",
            "rnn_1/ln_simple_rnn_cell/simple_rnn_cell/bias",
            "rnn_1/ln_simple_rnn_cell/layer_normalization/gamma",
            "rnn_1/ln_simple_rnn_cell/layer_normalization/beta",
            "time_distributed/kernel",
            "time_distributed/bias",
        }));
        Assert.That(named.Select(n => n.Parameter.Shape), Is.EqualTo(new[]
        {
            new Shape(1, 20), new Shape(20, 20), new Shape(20), new Shape(20), new Shape(20),
            new Shape(20, 20), new Shape(20, 20), new Shape(20), new Shape(20), new Shape(20),
            new Shape(20, 10), new Shape(10),
        }));
        // NamedWeights and Weights list the same parameters in the same (Keras) order.
        Assert.That(named.Select(n => n.Parameter), Is.EqualTo(m.Weights));
    }

    [Test]
    public void NamedWeights_WaveNet_AndExplicitNames()
    {
        var names = Names(ChapterModels.WaveNet());
        Assert.That(names, Has.Count.EqualTo(18));
        Assert.That(names[0], Is.EqualTo("conv1d/kernel"));
        Assert.That(names[^1], Is.EqualTo("conv1d_8/bias"));
        Assert.That(names, Is.Unique);

        var m = new Sequential(new Dense(3, inputShape: [4], name: "hidden"), new Dense(1, name: "out"));
        Assert.That(Names(m), Is.EqualTo(new[] { "hidden/kernel", "hidden/bias", "out/kernel", "out/bias" }));
        Assert.Throws<ArgumentException>(() => new Sequential(new Dense(3, name: "x"), new Dense(1, name: "x")));
    }

    private static List<string> Names(Sequential m)
    {
        m.Build();
        return m.NamedWeights().Select(n => n.Name).ToList();
    }
}

using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rnnx.Layers;
using Rnnx.Models;
using Rnnx.Onnx;

namespace Rnnx.Tests.Onnx;

/// <summary>
/// ONNX export of masks: Embedding → Cast + Gather; the mask of Embedding(maskZero) or Masking becomes the recurrent
/// operator's sequence_lens (Σ mask per sample, Keras's result for right-padded sequences) and a masked mean in
/// GlobalAveragePooling1D; what ONNX cannot express (a masked layer returning sequences) is refused by name.
/// </summary>
public class OnnxMaskExportTests
{
    private static float[] RunOnnx(byte[] model, Tensor x)
    {
        using var session = new InferenceSession(model);
        var input = new DenseTensor<float>(x.ToFloatArray(), x.Shape.ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        return results.Single(r => r.Name == "output").AsTensor<float>().ToArray();
    }

    /// <summary>Right-padded token ids (batch 4, 9 steps) with lengths 9, 3, 6, 1.</summary>
    private static Tensor Ids()
    {
        int[] lengths = [9, 3, 6, 1];
        var r = new System.Random(4);
        var v = new float[4 * 9];
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < lengths[b]; t++) v[b * 9 + t] = r.Next(1, 12);
        return Tensor.FromArray(v, 4, 9);
    }

    public static IEnumerable<TestCaseData> Models()
    {
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new TimeDistributed(new Dense(4, "tanh")),
            new GlobalAveragePooling1D(), new Dense(3, "softmax")], seed: 3))).SetName("Embedding_Dense_masked_average");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new LSTM(6), new Dense(3, "softmax")], seed: 3)))
            .SetName("Embedding_LSTM_last");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new GRU(6, goBackwards: true), new Dense(2)], seed: 3)))
            .SetName("Embedding_GRU_backwards_last");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new SimpleRNN(4, useBias: false), new Dense(1)], seed: 3)))
            .SetName("Embedding_SimpleRNN_no_bias");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5), new LSTM(3)], seed: 3))).SetName("Embedding_without_mask");
        // one bidirectional node with sequence_lens: ONNX's reverse direction starts at each sequence's last valid step
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new Bidirectional(new LSTM(6)), new Dense(3, "softmax")], seed: 3)))
            .SetName("Embedding_Bidirectional_LSTM_concat");
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true), new Bidirectional(new GRU(4), mergeMode: "ave"), new Dense(2)], seed: 3)))
            .SetName("Embedding_Bidirectional_GRU_ave");
        // different cells per direction: a node per direction, each with the lengths
        yield return new TestCaseData((Func<Sequential>)(() => new Sequential([new Embedding(12, 5, maskZero: true),
            new Bidirectional(new LSTM(4), "sum", backwardLayer: new GRU(4, goBackwards: true)), new Dense(2)], seed: 3)))
            .SetName("Embedding_Bidirectional_LSTM_GRU_sum");
    }

    [TestCaseSource(nameof(Models))]
    public void MatchesPredict_OnRightPaddedIds(Func<Sequential> create)
    {
        var model = create();
        var ids = Ids();
        var expected = model.Predict(ids).ToFloatArray();
        var actual = RunOnnx(OnnxExporter.Export(model, RightPadded), ids);
        Assert.That(actual, Is.EqualTo(expected).Within(1e-5f));
    }

    [Test]
    public void Masking_ThenLstm_MatchesPredict()
    {
        var model = new Sequential([new Masking(inputShape: [null, 2]), new LSTM(5), new Dense(2)], seed: 4);
        model.Build();
        var r = new System.Random(8);
        int[] lengths = [7, 2, 5];
        var v = new float[3 * 7 * 2];
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < lengths[b] * 2; t++) v[b * 14 + t] = (float)(r.NextDouble() * 2 - 1);
        var x = Tensor.FromArray(v, 3, 7, 2);
        Assert.That(RunOnnx(OnnxExporter.Export(model, RightPadded), x), Is.EqualTo(model.Predict(x).ToFloatArray()).Within(1e-5f));
    }

    private static readonly OnnxExportOptions RightPadded = new() { MasksAreRightPadded = true };

    [Test]
    public void AMaskedRecurrentLayer_IsRefusedUnlessTheCallerSaysMasksAreRightPadded()
    {
        var model = new Sequential([new Embedding(12, 5, maskZero: true), new LSTM(3, name: "reader"), new Dense(1)], seed: 3);
        model.Build([9]);
        var ex = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model));
        Assert.That(ex!.Message, Does.Contain("reader").And.Contain("right padding").And.Contain("MasksAreRightPadded"));
        Assert.That(OnnxExporter.Export(model, RightPadded), Is.Not.Empty);
    }

    [Test]
    public void MaskedSequenceOutput_IsRefusedNamingTheLayer()
    {
        var model = new Sequential([new Embedding(12, 5, maskZero: true, inputLength: 9), new GRU(4, returnSequences: true, name: "encoder")], seed: 3);
        model.Build();
        var ex = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(model));
        Assert.That(ex!.Message, Does.Contain("encoder").And.Contain("sequence_lens"));
        var bi = new Sequential([new Embedding(12, 5, maskZero: true, inputLength: 9), new Bidirectional(new GRU(4, returnSequences: true), name: "both")], seed: 3);
        bi.Build();
        ex = Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(bi, RightPadded));
        Assert.That(ex!.Message, Does.Contain("both").And.Contain("sequence_lens"));
        var flat = new Sequential([new Embedding(12, 5, maskZero: true, inputLength: 9), new Flatten(name: "flat")], seed: 3);
        flat.Build();
        Assert.That(Assert.Throws<NotSupportedException>(() => OnnxExporter.Export(flat))!.Message, Does.Contain("flat").And.Contain("mask"));
    }
}

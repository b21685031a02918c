//! The page's two languages: every text of the page in Thai (the course's own language, with
//! its terms) and in English, by key. The template holds `{{key}}` placeholders; the script
//! reads the same table for the words it writes itself.

use std::fmt;
use std::str::FromStr;

use crate::error::CourseError;

/// The page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Thai (`th`), as the course's slides.
    #[default]
    Th,
    /// English (`en`).
    En,
}

impl Lang {
    /// The BCP 47 tag the page declares in `<html lang=…>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Th => "th",
            Lang::En => "en",
        }
    }

    /// Every text of the page in this language, by key.
    pub fn texts(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::Th => TH,
            Lang::En => EN,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Lang {
    type Err = CourseError;

    fn from_str(s: &str) -> Result<Self, CourseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "th" => Ok(Lang::Th),
            "en" => Ok(Lang::En),
            other => Err(CourseError::UnknownLang(other.to_string())),
        }
    }
}

const EN: &[(&str, &str)] = &[
    ("title", "The course, computed by stoke"),
    (
        "intro",
        "Every path, number and table on this page was computed by stoke's own code — its optimizers, schedules and clipping, Burn's BatchNorm and Dropout as stoke's text classifier uses them, stoke's data loader — when the page was written. Nothing is re-computed in the browser.",
    ),
    ("s1_title", "1. Optimizers racing on loss surfaces"),
    (
        "s1_intro",
        "All racers start from the same point (●) and head for the minimum (★). Play, pause, take single steps or drag the iteration slider; the chart beside the contours is the loss gap f − f* against the iteration, on a log scale.",
    ),
    ("preset", "Preset"),
    ("play", "Play"),
    ("pause", "Pause"),
    ("step", "Step"),
    ("reset", "Reset"),
    ("iteration", "Iteration"),
    ("racer", "Optimizer shown below"),
    ("equations", "Update equations and state at this iteration"),
    ("loss_axis", "f − f* (log scale)"),
    ("f_axis", "f (linear scale; the saddle has no minimum)"),
    ("diverged", "diverged"),
    ("rate", "learning rate η of the next step"),
    ("clip", "clip factor s of the next step"),
    ("gradient", "gradient g at this point"),
    (
        "keys",
        "Keys: space = play/pause, → = one step, ← = one back, r = reset.",
    ),
    ("s2_title", "2. Mini-batching"),
    (
        "s2_intro",
        "An epoch passes every row once. With N rows in batches of b, one epoch takes ⌈N/b⌉ iterations (one optimizer step each); the last batch is smaller unless it is dropped. The rows are shuffled by stoke's loader with a fixed seed.",
    ),
    ("rows", "rows N"),
    ("batch", "batch size b"),
    ("iterations", "iterations per epoch"),
    ("drop_last", "dropping the last partial batch"),
    ("s3_title", "3. BatchNorm: a worked table"),
    (
        "s3_intro",
        "One unit's activations over a batch (the course's column) and the same ×10, through BatchNorm in training mode: subtract the batch mean μ, divide by the batch standard deviation. Scaling the input by 10 does not change the normalised values.",
    ),
    (
        "s3_sample",
        "The slide divides by the sample standard deviation s (n − 1 in the denominator) and gets",
    ),
    (
        "s3_biased",
        "BatchNorm divides by the biased standard deviation σ (n in the denominator, plus ε) and gives",
    ),
    (
        "s3_running",
        "At evaluation BatchNorm uses running statistics instead of the batch's: running ← (1 − m)·running + m·batch, starting from mean 0 and variance 1. After this one batch:",
    ),
    (
        "s3_keras",
        "Keras' momentum is the weight of the old value (default 0.99); Burn's and PyTorch's is the weight of the new batch (default 0.1). Keras 0.99 is Burn 0.01.",
    ),
    (
        "s3_eval",
        "Evaluation mode after that batch (running statistics, model's momentum):",
    ),
    ("value", "value"),
    ("normalised", "normalised"),
    ("mean", "mean μ"),
    ("std_biased", "σ (biased)"),
    ("std_sample", "s (sample)"),
    ("s4_title", "4. Dropout"),
    (
        "s4_intro",
        "In training each unit is kept with probability 1 − p and the kept ones are multiplied by 1/(1 − p), so every unit's expected value stays the same. In evaluation Dropout does nothing.",
    ),
    ("rate_p", "dropout rate p"),
    ("input", "input x"),
    ("output", "output y (training)"),
    ("average", "average of y over many samples"),
    ("eval_out", "output in evaluation"),
    ("factor", "survivors are scaled by 1/(1 − p) ="),
    ("s5_title", "5. L2 and overfitting"),
    (
        "s5_intro",
        "The L2 objective adds β Σ w² to the loss, −ℓ(W) + β Σ w², pulling weights towards zero; with Dropout it narrows the gap between training and validation loss on a large model trained on little data.",
    ),
    (
        "s5_missing",
        "No recipe runs were given: run `stoke run l2` and `stoke run overfitting`, then `stoke course --runs out` to draw their curves here.",
    ),
    ("train", "training"),
    ("valid", "validation"),
    ("epoch", "epoch"),
    ("loss", "loss"),
];

const TH: &[(&str, &str)] = &[
    ("title", "บทเรียนที่คำนวณด้วย stoke"),
    (
        "intro",
        "ทุกเส้นทาง ตัวเลข และตารางในหน้านี้คำนวณด้วยโค้ดของ stoke เอง — ตัวหาค่าเหมาะที่สุด (optimizer) ตารางอัตราการเรียนรู้ การตัดเกรเดียนต์ BatchNorm และ Dropout ของ Burn แบบที่ตัวจำแนกข้อความของ stoke ใช้ และตัวโหลดข้อมูลของ stoke — ตอนที่สร้างหน้านี้ เบราว์เซอร์ไม่ได้คำนวณอะไรใหม่",
    ),
    ("s1_title", "1. การแข่งขันของ optimizer บนพื้นผิวค่าสูญเสีย"),
    (
        "s1_intro",
        "ทุกตัวเริ่มจากจุดเดียวกัน (●) และมุ่งไปยังจุดต่ำสุด (★) กดเล่น หยุด ก้าวทีละขั้น หรือเลื่อนแถบรอบการทำงาน กราฟข้างเส้นชั้นความสูงคือค่าสูญเสีย f − f* เทียบกับรอบการทำงานในสเกลลอการิทึม",
    ),
    ("preset", "ตัวอย่างที่ตั้งไว้"),
    ("play", "เล่น"),
    ("pause", "หยุด"),
    ("step", "ก้าวหนึ่งขั้น"),
    ("reset", "เริ่มใหม่"),
    ("iteration", "รอบการทำงาน (iteration)"),
    ("racer", "optimizer ที่แสดงด้านล่าง"),
    ("equations", "สมการปรับค่าและสถานะ ณ รอบนี้"),
    ("loss_axis", "f − f* (สเกลลอการิทึม)"),
    ("f_axis", "f (สเกลเชิงเส้น; จุดอานม้าไม่มีจุดต่ำสุด)"),
    ("diverged", "ลู่ออก"),
    ("rate", "อัตราการเรียนรู้ η ของขั้นถัดไป"),
    ("clip", "ตัวคูณการตัด s ของขั้นถัดไป"),
    ("gradient", "เกรเดียนต์ g ที่จุดนี้"),
    (
        "keys",
        "แป้นพิมพ์: เว้นวรรค = เล่น/หยุด, → = ก้าวหนึ่งขั้น, ← = ถอยหนึ่งขั้น, r = เริ่มใหม่",
    ),
    ("s2_title", "2. มินิแบตช์ (mini-batch)"),
    (
        "s2_intro",
        "หนึ่งรอบข้อมูล (epoch) ใช้ทุกแถวหนึ่งครั้ง ถ้ามี N แถวและขนาดแบตช์ b หนึ่ง epoch ใช้ ⌈N/b⌉ รอบการทำงาน (ปรับค่าน้ำหนักหนึ่งครั้งต่อรอบ) แบตช์สุดท้ายจะเล็กกว่าถ้าไม่ถูกทิ้ง ตัวโหลดของ stoke สลับลำดับแถวด้วยซีดคงที่",
    ),
    ("rows", "จำนวนแถว N"),
    ("batch", "ขนาดแบตช์ b"),
    ("iterations", "รอบการทำงานต่อ epoch"),
    ("drop_last", "เมื่อทิ้งแบตช์สุดท้ายที่ไม่เต็ม"),
    ("s3_title", "3. BatchNorm: ตารางตัวอย่าง"),
    (
        "s3_intro",
        "ค่ากระตุ้นของหน่วยหนึ่งตลอดแบตช์ (คอลัมน์จากบทเรียน) และค่าเดียวกันคูณ 10 ผ่าน BatchNorm ในโหมดฝึก: ลบด้วยค่าเฉลี่ยของแบตช์ μ แล้วหารด้วยส่วนเบี่ยงเบนมาตรฐานของแบตช์ การคูณข้อมูลด้วย 10 ไม่เปลี่ยนค่าที่ปรับแล้ว",
    ),
    (
        "s3_sample",
        "สไลด์หารด้วยส่วนเบี่ยงเบนมาตรฐานของตัวอย่าง s (ตัวหาร n − 1) ได้",
    ),
    (
        "s3_biased",
        "BatchNorm หารด้วยส่วนเบี่ยงเบนมาตรฐานแบบเอนเอียง σ (ตัวหาร n บวก ε) ได้",
    ),
    (
        "s3_running",
        "ตอนประเมินผล BatchNorm ใช้ค่าสถิติสะสม (running statistics) แทนค่าของแบตช์: running ← (1 − m)·running + m·batch เริ่มจากค่าเฉลี่ย 0 และความแปรปรวน 1 หลังแบตช์นี้หนึ่งแบตช์:",
    ),
    (
        "s3_keras",
        "momentum ของ Keras คือน้ำหนักของค่าเดิม (ค่าเริ่มต้น 0.99) ส่วนของ Burn และ PyTorch คือน้ำหนักของแบตช์ใหม่ (ค่าเริ่มต้น 0.1) Keras 0.99 เท่ากับ Burn 0.01",
    ),
    (
        "s3_eval",
        "โหมดประเมินผลหลังแบตช์นั้น (ค่าสถิติสะสม, momentum ของโมเดล):",
    ),
    ("value", "ค่า"),
    ("normalised", "ค่าที่ปรับแล้ว"),
    ("mean", "ค่าเฉลี่ย μ"),
    ("std_biased", "σ (เอนเอียง)"),
    ("std_sample", "s (ตัวอย่าง)"),
    ("s4_title", "4. ดรอปเอาต์ (Dropout)"),
    (
        "s4_intro",
        "ตอนฝึก แต่ละหน่วยถูกเก็บไว้ด้วยความน่าจะเป็น 1 − p และหน่วยที่เหลือถูกคูณด้วย 1/(1 − p) ค่าคาดหวังของแต่ละหน่วยจึงเท่าเดิม ตอนประเมินผล Dropout ไม่ทำอะไร",
    ),
    ("rate_p", "อัตราดรอปเอาต์ p"),
    ("input", "ข้อมูลเข้า x"),
    ("output", "ผลลัพธ์ y (โหมดฝึก)"),
    ("average", "ค่าเฉลี่ยของ y จากหลายตัวอย่าง"),
    ("eval_out", "ผลลัพธ์ในโหมดประเมินผล"),
    ("factor", "หน่วยที่เหลือถูกคูณด้วย 1/(1 − p) ="),
    ("s5_title", "5. L2 และการเรียนรู้เกิน (overfitting)"),
    (
        "s5_intro",
        "ฟังก์ชันเป้าหมายแบบ L2 เพิ่ม β Σ w² ให้ค่าสูญเสีย −ℓ(W) + β Σ w² ดึงน้ำหนักเข้าหาศูนย์ เมื่อใช้ร่วมกับ Dropout จะลดช่องว่างระหว่างค่าสูญเสียฝึกและค่าสูญเสียตรวจสอบของโมเดลใหญ่ที่ฝึกด้วยข้อมูลน้อย",
    ),
    (
        "s5_missing",
        "ไม่ได้ระบุผลการรันสูตรทดลอง: รัน `stoke run l2` และ `stoke run overfitting` แล้วใช้ `stoke course --runs out` เพื่อวาดกราฟที่นี่",
    ),
    ("train", "ชุดฝึก"),
    ("valid", "ชุดตรวจสอบ"),
    ("epoch", "epoch"),
    ("loss", "ค่าสูญเสีย"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_parse() {
        let keys = |l: Lang| l.texts().iter().map(|(k, _)| *k).collect::<Vec<_>>();
        assert_eq!(keys(Lang::Th), keys(Lang::En));
        assert_eq!("TH".parse::<Lang>().unwrap(), Lang::Th);
        assert_eq!("en".parse::<Lang>().unwrap().tag(), "en");
        let e = "fr".parse::<Lang>().unwrap_err().to_string();
        assert!(e.contains("'fr'") && e.contains("th"), "{e}");
    }
}

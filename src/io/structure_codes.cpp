// The DICOM codes of the 117 structures (structure_codes.hpp). The values are public facts taken
// from TotalSegmentator's resources/totalsegmentator_snomed_mapping.csv (SNOMED CT category and type
// codes, the anatomic region of the kidney cysts, DicomRGBColor), written here as our own table in
// label order; the laterality column follows the structure name.
#include <swinsmt/io/structure_codes.hpp>

#include <swinsmt/error.hpp>

#include <map>

namespace swinsmt::io {
namespace {

struct Row {
  const char* name;
  const char* category_value;
  const char* category_meaning;
  const char* type_value;
  const char* type_meaning;
  const char* laterality;
  const char* region_value;
  const char* region_meaning;
  std::array<uint8_t, 3> rgb;
};

// clang-format off
const Row kRows[] = {
    {"spleen", "123037004", "Anatomical Structure", "78961009", "Spleen", "", "", "", {50, 170, 60}},
    {"kidney_right", "123037004", "Anatomical Structure", "64033007", "Kidney", "Right", "", "", {34, 102, 136}},
    {"kidney_left", "123037004", "Anatomical Structure", "64033007", "Kidney", "Left", "", "", {46, 138, 184}},
    {"gallbladder", "123037004", "Anatomical Structure", "28231008", "Gallbladder", "", "", "", {54, 216, 119}},
    {"liver", "123037004", "Anatomical Structure", "10200004", "Liver", "", "", "", {40, 140, 40}},
    {"stomach", "123037004", "Anatomical Structure", "69695003", "Stomach", "", "", "", {180, 70, 160}},
    {"pancreas", "123037004", "Anatomical Structure", "15776009", "Pancreas", "", "", "", {60, 150, 80}},
    {"adrenal_gland_right", "123037004", "Anatomical Structure", "23451007", "Adrenal gland", "Right", "", "", {178, 128, 26}},
    {"adrenal_gland_left", "123037004", "Anatomical Structure", "23451007", "Adrenal gland", "Left", "", "", {241, 172, 34}},
    {"lung_upper_lobe_left", "123037004", "Anatomical Structure", "45653009", "Upper lobe of lung", "Left", "", "", {71, 232, 244}},
    {"lung_lower_lobe_left", "123037004", "Anatomical Structure", "90572001", "Lower lobe of lung", "Left", "", "", {34, 195, 207}},
    {"lung_upper_lobe_right", "123037004", "Anatomical Structure", "45653009", "Upper lobe of lung", "Right", "", "", {100, 218, 227}},
    {"lung_middle_lobe_right", "123037004", "Anatomical Structure", "72481006", "Middle lobe of right lung", "Right", "", "", {63, 181, 190}},
    {"lung_lower_lobe_right", "123037004", "Anatomical Structure", "90572001", "Lower lobe of lung", "Right", "", "", {26, 144, 153}},
    {"esophagus", "123037004", "Anatomical Structure", "32849002", "Esophagus", "", "", "", {190, 90, 170}},
    {"trachea", "123037004", "Anatomical Structure", "44567001", "Trachea", "", "", "", {0, 180, 200}},
    {"thyroid_gland", "123037004", "Anatomical Structure", "69748006", "Thyroid gland", "", "", "", {250, 210, 60}},
    {"small_bowel", "123037004", "Anatomical Structure", "30315005", "Small Intestine", "", "", "", {160, 60, 180}},
    {"duodenum", "123037004", "Anatomical Structure", "38848004", "Duodenum", "", "", "", {170, 80, 190}},
    {"colon", "123037004", "Anatomical Structure", "71854001", "Colon", "", "", "", {150, 40, 170}},
    {"urinary_bladder", "123037004", "Anatomical Structure", "89837001", "Urinary bladder", "", "", "", {54, 94, 216}},
    {"prostate", "123037004", "Anatomical Structure", "41216001", "Prostate", "", "", "", {91, 253, 156}},
    {"kidney_cyst_left", "49755003", "Morphologically Altered Structure", "367643001", "Cyst", "Left", "64033007", "Kidney", {83, 175, 221}},
    {"kidney_cyst_right", "49755003", "Morphologically Altered Structure", "367643001", "Cyst", "Right", "64033007", "Kidney", {71, 139, 173}},
    {"sacrum", "123037004", "Anatomical Structure", "54735007", "Sacrum", "", "", "", {100, 216, 54}},
    {"vertebrae_S1", "123037004", "Anatomical Structure", "65985001", "S1 vertebra", "", "", "", {205, 180, 145}},
    {"vertebrae_L5", "123037004", "Anatomical Structure", "49668003", "L5 vertebra", "", "", "", {137, 112, 77}},
    {"vertebrae_L4", "123037004", "Anatomical Structure", "11994002", "L4 vertebra", "", "", "", {100, 75, 40}},
    {"vertebrae_L3", "123037004", "Anatomical Structure", "36470004", "L3 vertebra", "", "", "", {63, 38, 3}},
    {"vertebrae_L2", "123037004", "Anatomical Structure", "14293000", "L2 vertebra", "", "", "", {26, 1, 222}},
    {"vertebrae_L1", "123037004", "Anatomical Structure", "66794005", "L1 vertebra", "", "", "", {245, 220, 185}},
    {"vertebrae_T12", "123037004", "Anatomical Structure", "23215003", "T12 vertebra", "", "", "", {69, 44, 9}},
    {"vertebrae_T11", "123037004", "Anatomical Structure", "12989004", "T11 vertebra", "", "", "", {32, 7, 228}},
    {"vertebrae_T10", "123037004", "Anatomical Structure", "7610001", "T10 vertebra", "", "", "", {251, 226, 191}},
    {"vertebrae_T9", "123037004", "Anatomical Structure", "82687006", "T9 vertebra", "", "", "", {214, 189, 154}},
    {"vertebrae_T8", "123037004", "Anatomical Structure", "11068009", "T8 vertebra", "", "", "", {177, 152, 117}},
    {"vertebrae_T7", "123037004", "Anatomical Structure", "62487009", "T7 vertebra", "", "", "", {140, 115, 80}},
    {"vertebrae_T6", "123037004", "Anatomical Structure", "45296009", "T6 vertebra", "", "", "", {103, 78, 43}},
    {"vertebrae_T5", "123037004", "Anatomical Structure", "56401006", "T5 vertebra", "", "", "", {66, 41, 6}},
    {"vertebrae_T4", "123037004", "Anatomical Structure", "73071006", "T4 vertebra", "", "", "", {29, 4, 225}},
    {"vertebrae_T3", "123037004", "Anatomical Structure", "1626008", "T3 vertebra", "", "", "", {248, 223, 188}},
    {"vertebrae_T2", "123037004", "Anatomical Structure", "53733008", "T2 vertebra", "", "", "", {211, 186, 151}},
    {"vertebrae_T1", "123037004", "Anatomical Structure", "64864005", "T1 vertebra", "", "", "", {174, 149, 114}},
    {"vertebrae_C7", "123037004", "Anatomical Structure", "87391001", "C7 vertebra", "", "", "", {208, 183, 148}},
    {"vertebrae_C6", "123037004", "Anatomical Structure", "36054005", "C6 vertebra", "", "", "", {171, 146, 111}},
    {"vertebrae_C5", "123037004", "Anatomical Structure", "36978003", "C5 vertebra", "", "", "", {134, 109, 74}},
    {"vertebrae_C4", "123037004", "Anatomical Structure", "5329002", "C4 vertebra", "", "", "", {97, 72, 37}},
    {"vertebrae_C3", "123037004", "Anatomical Structure", "113205007", "C3 vertebra", "", "", "", {60, 35, 0}},
    {"vertebrae_C2", "123037004", "Anatomical Structure", "39976000", "C2 vertebra", "", "", "", {23, 254, 219}},
    {"vertebrae_C1", "123037004", "Anatomical Structure", "14806007", "C1 vertebra", "", "", "", {242, 217, 182}},
    {"heart", "123037004", "Anatomical Structure", "80891009", "Heart", "", "", "", {180, 0, 40}},
    {"aorta", "123037004", "Anatomical Structure", "15825003", "Aorta", "", "", "", {216, 108, 54}},
    {"pulmonary_vein", "123037004", "Anatomical Structure", "122972007", "Pulmonary vein", "", "", "", {37, 107, 237}},
    {"brachiocephalic_trunk", "123037004", "Anatomical Structure", "12691009", "Brachiocephalic artery", "", "", "", {190, 10, 10}},
    {"subclavian_artery_right", "123037004", "Anatomical Structure", "29700009", "Subclavian artery", "Right", "", "", {162, 26, 26}},
    {"subclavian_artery_left", "123037004", "Anatomical Structure", "29700009", "Subclavian artery", "Left", "", "", {218, 34, 34}},
    {"common_carotid_artery_right", "123037004", "Anatomical Structure", "32062004", "Common carotid artery", "Right", "", "", {170, 17, 17}},
    {"common_carotid_artery_left", "123037004", "Anatomical Structure", "32062004", "Common carotid artery", "Left", "", "", {230, 23, 23}},
    {"brachiocephalic_vein_left", "123037004", "Anatomical Structure", "8887007", "Brachiocephalic vein", "Left", "", "", {0, 92, 241}},
    {"brachiocephalic_vein_right", "123037004", "Anatomical Structure", "8887007", "Brachiocephalic vein", "Right", "", "", {0, 68, 178}},
    {"atrial_appendage_left", "123037004", "Anatomical Structure", "68786006", "Auricular appendage", "Left", "", "", {68, 248, 62}},
    {"superior_vena_cava", "123037004", "Anatomical Structure", "48345005", "Superior vena cava", "", "", "", {74, 144, 18}},
    {"inferior_vena_cava", "123037004", "Anatomical Structure", "64131007", "Inferior vena cava", "", "", "", {0, 70, 200}},
    {"portal_vein_and_splenic_vein", "123037004", "Anatomical Structure", "110765007", "Portal vein and splenic vein", "", "", "", {0, 90, 220}},
    {"iliac_artery_left", "123037004", "Anatomical Structure", "73634005", "Common iliac artery", "Left", "", "", {218, 0, 0}},
    {"iliac_artery_right", "123037004", "Anatomical Structure", "73634005", "Common iliac artery", "Right", "", "", {162, 0, 0}},
    {"iliac_vena_left", "123037004", "Anatomical Structure", "46027005", "Common iliac vein", "Left", "", "", {0, 92, 230}},
    {"iliac_vena_right", "123037004", "Anatomical Structure", "46027005", "Common iliac vein", "Right", "", "", {0, 68, 170}},
    {"humerus_left", "123037004", "Anatomical Structure", "85050009", "Humerus", "Left", "", "", {71, 62, 248}},
    {"humerus_right", "123037004", "Anatomical Structure", "85050009", "Humerus", "Right", "", "", {115, 46, 184}},
    {"scapula_left", "123037004", "Anatomical Structure", "79601000", "Scapula", "Left", "", "", {253, 230, 195}},
    {"scapula_right", "123037004", "Anatomical Structure", "79601000", "Scapula", "Right", "", "", {187, 170, 144}},
    {"clavicula_left", "123037004", "Anatomical Structure", "51299004", "Clavicle", "Left", "", "", {255, 236, 201}},
    {"clavicula_right", "123037004", "Anatomical Structure", "51299004", "Clavicle", "Right", "", "", {191, 174, 149}},
    {"femur_left", "123037004", "Anatomical Structure", "71341001", "Femur", "Left", "", "", {248, 212, 62}},
    {"femur_right", "123037004", "Anatomical Structure", "71341001", "Femur", "Right", "", "", {46, 184, 60}},
    {"hip_left", "123037004", "Anatomical Structure", "29836001", "Hip", "Left", "", "", {230, 248, 62}},
    {"hip_right", "123037004", "Anatomical Structure", "29836001", "Hip", "Right", "", "", {184, 46, 184}},
    {"spinal_cord", "123037004", "Anatomical Structure", "2748008", "Spinal cord", "", "", "", {255, 215, 0}},
    {"gluteus_maximus_left", "123037004", "Anatomical Structure", "181674001", "Gluteus maximus muscle", "Left", "", "", {253, 115, 34}},
    {"gluteus_maximus_right", "123037004", "Anatomical Structure", "181674001", "Gluteus maximus muscle", "Right", "", "", {187, 85, 26}},
    {"gluteus_medius_left", "123037004", "Anatomical Structure", "78333006", "Gluteus medius muscle", "Left", "", "", {255, 126, 46}},
    {"gluteus_medius_right", "123037004", "Anatomical Structure", "78333006", "Gluteus medius muscle", "Right", "", "", {196, 94, 34}},
    {"gluteus_minimus_left", "123037004", "Anatomical Structure", "75297007", "Gluteus minius muscle", "Left", "", "", {255, 138, 57}},
    {"gluteus_minimus_right", "123037004", "Anatomical Structure", "75297007", "Gluteus minius muscle", "Right", "", "", {204, 102, 42}},
    {"autochthon_left", "123037004", "Anatomical Structure", "244849004", "Deep muscle of back", "Left", "", "", {241, 126, 57}},
    {"autochthon_right", "123037004", "Anatomical Structure", "244849004", "Deep muscle of back", "Right", "", "", {178, 94, 42}},
    {"iliopsoas_left", "123037004", "Anatomical Structure", "68455001", "Iliopsoas muscle", "Left", "", "", {230, 115, 46}},
    {"iliopsoas_right", "123037004", "Anatomical Structure", "68455001", "Iliopsoas muscle", "Right", "", "", {170, 85, 34}},
    {"brain", "123037004", "Anatomical Structure", "12738006", "Brain", "", "", "", {216, 54, 149}},
    {"skull", "123037004", "Anatomical Structure", "89546000", "Skull", "", "", "", {245, 225, 200}},
    {"rib_left_1", "123037004", "Anatomical Structure", "48535007", "First rib", "Left", "", "", {214, 54, 216}},
    {"rib_left_2", "123037004", "Anatomical Structure", "78247007", "Second rib", "Left", "", "", {181, 54, 216}},
    {"rib_left_3", "123037004", "Anatomical Structure", "25888004", "Third rib", "Left", "", "", {216, 54, 162}},
    {"rib_left_4", "123037004", "Anatomical Structure", "25523003", "Fourth rib", "Left", "", "", {54, 121, 216}},
    {"rib_left_5", "123037004", "Anatomical Structure", "15339008", "Fifth rib", "Left", "", "", {54, 216, 146}},
    {"rib_left_6", "123037004", "Anatomical Structure", "59558009", "Sixth rib", "Left", "", "", {121, 216, 54}},
    {"rib_left_7", "123037004", "Anatomical Structure", "24915002", "Seventh rib", "Left", "", "", {149, 54, 216}},
    {"rib_left_8", "123037004", "Anatomical Structure", "5953002", "Eighth rib", "Left", "", "", {216, 81, 54}},
    {"rib_left_9", "123037004", "Anatomical Structure", "22565002", "Ninth rib", "Left", "", "", {216, 54, 167}},
    {"rib_left_10", "123037004", "Anatomical Structure", "77644006", "Tenth rib", "Left", "", "", {54, 146, 216}},
    {"rib_left_11", "123037004", "Anatomical Structure", "58830002", "Eleventh rib", "Left", "", "", {158, 253, 91}},
    {"rib_left_12", "123037004", "Anatomical Structure", "43993008", "Twelfth rib", "Left", "", "", {216, 54, 86}},
    {"rib_right_1", "123037004", "Anatomical Structure", "48535007", "First rib", "Right", "", "", {91, 158, 253}},
    {"rib_right_2", "123037004", "Anatomical Structure", "78247007", "Second rib", "Right", "", "", {211, 216, 54}},
    {"rib_right_3", "123037004", "Anatomical Structure", "25888004", "Third rib", "Right", "", "", {216, 54, 59}},
    {"rib_right_4", "123037004", "Anatomical Structure", "25523003", "Fourth rib", "Right", "", "", {216, 54, 67}},
    {"rib_right_5", "123037004", "Anatomical Structure", "15339008", "Fifth rib", "Right", "", "", {157, 216, 54}},
    {"rib_right_6", "123037004", "Anatomical Structure", "59558009", "Sixth rib", "Right", "", "", {216, 54, 189}},
    {"rib_right_7", "123037004", "Anatomical Structure", "24915002", "Seventh rib", "Right", "", "", {216, 54, 132}},
    {"rib_right_8", "123037004", "Anatomical Structure", "5953002", "Eighth rib", "Right", "", "", {216, 203, 54}},
    {"rib_right_9", "123037004", "Anatomical Structure", "22565002", "Ninth rib", "Right", "", "", {216, 197, 54}},
    {"rib_right_10", "123037004", "Anatomical Structure", "77644006", "Tenth rib", "Right", "", "", {216, 159, 54}},
    {"rib_right_11", "123037004", "Anatomical Structure", "58830002", "Eleventh rib", "Right", "", "", {54, 135, 216}},
    {"rib_right_12", "123037004", "Anatomical Structure", "43993008", "Twelfth rib", "Right", "", "", {181, 216, 54}},
    {"sternum", "123037004", "Anatomical Structure", "56873002", "Sternum", "", "", "", {215, 195, 165}},
    {"costal_cartilages", "123037004", "Anatomical Structure", "50016007", "Costal cartilage", "", "", "", {250, 220, 190}},
};
// clang-format on

}  // namespace

const std::vector<StructureCode>& structure_codes() {
  static const std::vector<StructureCode> codes = [] {
    std::vector<StructureCode> out;
    for (const Row& r : kRows) {
      StructureCode c;
      c.name = r.name;
      c.category = {r.category_value, "SCT", r.category_meaning};
      c.type = {r.type_value, "SCT", r.type_meaning};
      c.laterality = r.laterality;
      if (*r.region_value) c.region = {r.region_value, "SCT", r.region_meaning};
      c.rgb = r.rgb;
      out.push_back(std::move(c));
    }
    return out;
  }();
  return codes;
}

const StructureCode* find_structure_code(const std::string& name) {
  static const std::map<std::string, const StructureCode*> by_name = [] {
    std::map<std::string, const StructureCode*> out;
    for (const auto& c : structure_codes()) out.emplace(c.name, &c);
    return out;
  }();
  const auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

const StructureCode& structure_code(const std::string& name) {
  const StructureCode* code = find_structure_code(name);
  if (code == nullptr)
    throw Error("structure \"" + name + "\" has no DICOM codes (the table holds the " +
                std::to_string(structure_codes().size()) + " TotalSegmentator-v2 structures)");
  return *code;
}

CodedConcept laterality_code(const std::string& laterality) {
  if (laterality == "Left") return {"7771000", "SCT", "Left"};
  if (laterality == "Right") return {"24028007", "SCT", "Right"};
  throw Error("laterality must be \"Left\" or \"Right\", got \"" + laterality + "\"");
}

}  // namespace swinsmt::io
